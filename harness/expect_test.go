package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/scenarios"
)

// record is 9 expired-grant denials and one OK call whose handler ran once.
func record() *Record {
	rec := &Record{HandlerRuns: 1, Elapsed: 50 * time.Millisecond}
	for range 9 {
		rec.Outcomes = append(rec.Outcomes, denial(reason.GrantExpired, "expired_ago", "2m0s"))
	}
	rec.Outcomes = append(rec.Outcomes, okCall())
	return rec
}

func checkNamed(t *testing.T, r *Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	require.Failf(t, "no such check", "%q not in %+v", name, r.Checks)
	return Check{}
}

func TestEvaluateChecksExpectations(t *testing.T) {
	tests := []struct {
		name   string
		expect scenarios.Expect
		check  string
		pass   bool
		got    string
	}{
		{"code share holds", scenarios.Expect{Codes: map[string]string{"PERMISSION_DENIED": "90%"}}, "code PERMISSION_DENIED", true, "90% (9 of 10)"},
		{"code share misses", scenarios.Expect{Codes: map[string]string{"PERMISSION_DENIED": "100%"}}, "code PERMISSION_DENIED", false, "90% (9 of 10)"},
		{"at least", scenarios.Expect{Codes: map[string]string{"OK": ">=10%"}}, "code OK", true, "10% (1 of 10)"},
		{"at most", scenarios.Expect{Reasons: map[string]string{"GRANT_EXPIRED": "<=50%"}}, "reason GRANT_EXPIRED", false, "90% (9 of 10)"},
		{"absent reason", scenarios.Expect{Reasons: map[string]string{"GRANT_REVOKED": "0%"}}, "reason GRANT_REVOKED", true, "0% (0 of 10)"},
		{"latency holds", scenarios.Expect{Latency: map[string]string{"p99": "<500ms"}}, "latency p99", true, "2ms"},
		{"latency misses", scenarios.Expect{Latency: map[string]string{"p50": ">1s"}}, "latency p50", false, "1ms"},
		{"typed share wins", scenarios.Expect{Codes: map[string]string{"OK": "whatever"},
			CodeShares: map[string]scenarios.Share{"OK": {Op: scenarios.OpEq, Fraction: 0.1, Raw: "10%"}}}, "code OK", true, "10% (1 of 10)"},
		{"unparsable share", scenarios.Expect{Codes: map[string]string{"OK": "lots"}}, "code OK", false, `bad percentage "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &scenarios.Scenario{Name: "x", Expect: tt.expect}
			c := checkNamed(t, Evaluate(sc, TopologyInProcess, record()), tt.check)
			assert.Equal(t, tt.pass, c.Pass)
			assert.Contains(t, c.Got, tt.got)
		})
	}
}

func TestHandlerCheck(t *testing.T) {
	retried := denial(reason.ApprovalPending)
	retried.Code, retried.Attempts, retried.MayHaveRun = codes.DeadlineExceeded, 3, 2
	tests := []struct {
		name string
		runs int64
		more []Outcome
		pass bool
	}{
		{"runs equal OK calls", 1, nil, true},
		{"a denied call reached the handler", 2, nil, false},
		{"an OK call did not", 0, nil, false},
		{"attempts that failed after being sent may have run it", 3, []Outcome{retried}, true},
		{"but no more than them", 4, []Outcome{retried}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := record()
			rec.HandlerRuns = tt.runs
			rec.Outcomes = append(rec.Outcomes, tt.more...)
			c := checkNamed(t, Evaluate(&scenarios.Scenario{Name: "x"}, TopologyInProcess, rec), HandlerCheck)
			assert.Equal(t, tt.pass, c.Pass, "%+v", c)
		})
	}
}

func TestEvaluateReportsRowsAndTopDenial(t *testing.T) {
	sc := &scenarios.Scenario{Name: "x", Explain: `{{.Share "GRANT_EXPIRED"}} expired {{.ExpiredAgo}} ago`}
	r := Evaluate(sc, TopologyInProcess, record())
	require.Len(t, r.Rows, 2)
	assert.Equal(t, Row{Code: "PERMISSION_DENIED", Reason: "GRANT_EXPIRED", Phase: PhaseCall, Count: 9, Share: "90%", P50: time.Millisecond}, r.Rows[0])
	assert.Equal(t, "OK", r.Rows[1].Code)
	require.NotNil(t, r.TopDenial)
	assert.Equal(t, "GRANT_EXPIRED", r.TopDenial.Reason)
	assert.Equal(t, "2m0s", r.TopDenial.Metadata["expired_ago"])
	assert.NotEmpty(t, r.TopDenial.Fix)
	assert.Equal(t, "90% expired 2m0s ago", r.Explanation)
	assert.True(t, checkNamed(t, r, ExplainCheck).Pass)

	sc.Explain = "{{.Nope}}"
	r = Evaluate(sc, TopologyInProcess, record())
	c := checkNamed(t, r, ExplainCheck)
	assert.False(t, c.Pass)
	assert.Contains(t, c.Got, "Nope")
}

func TestDiffIsAReadableTable(t *testing.T) {
	sc := &scenarios.Scenario{Name: "wrong", Expect: scenarios.Expect{
		Codes:   map[string]string{"PERMISSION_DENIED": "100%"},
		Reasons: map[string]string{"GRANT_EXPIRED": "90%"},
	}}
	d := Evaluate(sc, TopologyInProcess, record()).Diff()
	lines := strings.Split(d, "\n")
	assert.Equal(t, "scenario wrong: 1 of 3 checks failed (inprocess, seed 0, 10 calls)", lines[0])
	assert.Regexp(t, `(?m)^FAIL\s+code PERMISSION_DENIED\s+100%\s+90% \(9 of 10\)$`, d)
	assert.Regexp(t, `(?m)^ok\s+reason GRANT_EXPIRED\s+90%\s+90% \(9 of 10\)$`, d)
	assert.Regexp(t, `(?m)^\s+PERMISSION_DENIED\s+GRANT_EXPIRED\s+call\s+9\s+90%`, d)
}
