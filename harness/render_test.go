package harness

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/scenarios"
)

func TestWriteReproTellsWhatHappenedAndWhy(t *testing.T) {
	rec := record()
	pending := denial(reason.ApprovalPending, "waited", "100ms")
	pending.Phase = PhaseGrant
	rec.Outcomes = append(rec.Outcomes, pending)
	rec.ApprovalLatencies = []time.Duration{40 * time.Millisecond}
	sc := &scenarios.Scenario{Name: "expired", Summary: "Grants expire before use.",
		Explain: "The grant expired {{.ExpiredAgo}} ago; leeway {{.Leeway}}.",
		Expect:  scenarios.Expect{Reasons: map[string]string{"GRANT_EXPIRED": ">=80%"}}}
	var b bytes.Buffer
	Evaluate(sc, TopologyTCP, rec).WriteRepro(&b)
	out := b.String()
	for _, want := range []string{
		"scenario expired (tcp, seed 0)\n  Grants expire before use.\n",
		"What happened: 11 calls in 50ms",
		"1 calls failed while obtaining their grant (phase grant), 9 failed in the call itself (phase call)",
		"the broker approved 1 and denied 0 requests; median approval wait 40ms",
		"Diagnosis:\n  The grant expired 2m0s ago; leeway 30s.\n",
		"Most frequent failure: PERMISSION_DENIED GRANT_EXPIRED, 9 of 11 calls (phase call)",
		"  message: refused: GRANT_EXPIRED\n  details: expired_ago=2m0s\n  fix: request a new grant",
		"Expectations: PASS",
	} {
		assert.Contains(t, out, want)
	}
	assert.Regexp(t, `(?m)^  ok\s+reason GRANT_EXPIRED\s+>=80%\s+82% \(9 of 11\)$`, out)
}

func TestWriteTextHeadsWithTheVerdict(t *testing.T) {
	sc := &scenarios.Scenario{Name: "x", Expect: scenarios.Expect{Codes: map[string]string{"OK": "100%"}}}
	var b bytes.Buffer
	Evaluate(sc, TopologyInProcess, record()).WriteText(&b)
	assert.Regexp(t, `^FAIL  x  \(inprocess, seed 0, 10 calls in 50ms\)\n`, b.String())
	assert.Regexp(t, `(?m)^  FAIL\s+code OK\s+100%\s+10% \(1 of 10\)$`, b.String())
	assert.Contains(t, b.String(), "latency p50 1ms  p90 1ms  p99 2ms  max 2ms")
}
