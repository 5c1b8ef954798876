package harness

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/scenarios"
)

// recordingTB is a testing.TB that records failures instead of failing.
type recordingTB struct {
	testing.TB
	errors []string
	skips  []string
	fatal  bool
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// Skipf records the skip; the caller returns on its own (testing.T's would end the goroutine).
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skips = append(r.skips, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
	r.fatal = true
}

// TestRunFailsWithAReadableDiff gives a real run a deliberately wrong
// expectation: every call succeeds, the scenario claims they are denied.
func TestRunFailsWithAReadableDiff(t *testing.T) {
	sc := &scenarios.Scenario{Name: "wrong-on-purpose", Load: scenarios.LoadProfile{Calls: 4},
		Expect: scenarios.Expect{Codes: map[string]string{"PERMISSION_DENIED": "100%", "OK": "0%"}}}
	rec := &recordingTB{TB: t}
	rep := Run(rec, sc)
	require.NotNil(t, rep)
	assert.False(t, rec.fatal)
	require.Len(t, rec.errors, 1, "one failure carrying the whole table")
	msg := rec.errors[0]
	t.Log("\n" + msg)
	assert.Contains(t, msg, "scenario wrong-on-purpose: 2 of 3 checks failed")
	assert.Regexp(t, `(?m)^FAIL\s+code OK\s+0%\s+100% \(4 of 4\)$`, msg)
	assert.Regexp(t, `(?m)^FAIL\s+code PERMISSION_DENIED\s+100%\s+0% \(0 of 4\)$`, msg)
	assert.Regexp(t, `(?m)^ok\s+handler never ran for a denied call\s+4 \(the OK calls\)\s+4 handler runs$`, msg)
	assert.Regexp(t, `(?m)^\s+OK\s+-\s+call\s+4\s+100%`, msg)
}

func TestRunPassesAndStopsOnAScenarioThatCannotRun(t *testing.T) {
	rec := &recordingTB{TB: t}
	rep := Run(rec, &scenarios.Scenario{Name: "fine", Load: scenarios.LoadProfile{Calls: 2},
		Expect: scenarios.Expect{Codes: map[string]string{"OK": "100%"}}})
	require.NotNil(t, rep)
	assert.Empty(t, rec.errors)
	assert.True(t, rep.Pass())

	rec = &recordingTB{TB: t}
	assert.Nil(t, Run(rec, &scenarios.Scenario{Name: "broken", Faults: []scenarios.Fault{{Kind: "no-such-fault"}}}))
	assert.True(t, rec.fatal)
	require.Len(t, rec.errors, 1)
	assert.Contains(t, rec.errors[0], "no-such-fault")
}
