package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/scenarios"
)

func TestPercent(t *testing.T) {
	tests := []struct {
		n, total int
		want     string
	}{
		{0, 0, "0%"},
		{0, 20, "0%"},
		{20, 20, "100%"},
		{17, 20, "85%"},
		{1, 3, "33%"},
		{1, 1000, "<1%"},
		{999, 1000, ">99%"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, percent(tt.n, tt.total), "%d of %d", tt.n, tt.total)
	}
}

func TestPercentileAndRound(t *testing.T) {
	ds := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}
	assert.Equal(t, 3*time.Millisecond, percentile(ds, 50))
	assert.Equal(t, 5*time.Millisecond, percentile(ds, 99))
	assert.Equal(t, 5*time.Millisecond, percentile(ds, 100))
	assert.Equal(t, time.Millisecond, percentile(ds, 1))
	assert.Zero(t, percentile(nil, 50))
	assert.Equal(t, time.Millisecond, ds[1], "percentile must not sort its input in place")

	assert.Equal(t, 1230*time.Microsecond, round(1234567*time.Nanosecond))
	assert.Equal(t, 1230*time.Millisecond, round(1234567*time.Microsecond))
	assert.Equal(t, 12*time.Microsecond, round(12345*time.Nanosecond))
}

// denial is an outcome refused with r and metadata kv.
func denial(r reason.Reason, kv ...string) Outcome {
	md := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = kv[i+1]
	}
	return Outcome{Code: r.Code(), Reason: r, Message: "refused: " + string(r), Metadata: md, Phase: PhaseCall,
		Latency: time.Millisecond, Deadline: 2 * time.Second, Attempts: 1}
}

func okCall() Outcome {
	return Outcome{Code: codes.OK, Phase: PhaseCall, Latency: 2 * time.Millisecond, Deadline: 2 * time.Second, Attempts: 1, MayHaveRun: 1}
}

func TestFiguresFromOutcomes(t *testing.T) {
	rec := &Record{
		Outcomes: []Outcome{
			okCall(),
			denial(reason.GrantNotYetValid, "skew_seen", "1m30s", "leeway", "30s"),
			denial(reason.GrantNotYetValid, "skew_seen", "1m30s", "leeway", "30s"),
			denial(reason.GrantAlgMismatch, "offered_algorithm", "ES256", "accepted_algorithms", "EdDSA"),
		},
		ApprovalLatencies: []time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond},
	}
	f := figures(rec, time.Minute)
	assert.Equal(t, 4, f.Calls)
	assert.Equal(t, map[string]int{"OK": 1, "PERMISSION_DENIED": 3}, f.Codes)
	assert.Equal(t, map[string]int{"GRANT_NOT_YET_VALID": 2, "GRANT_ALG_MISMATCH": 1}, f.Reasons)
	assert.Equal(t, "50%", f.Share("GRANT_NOT_YET_VALID"))
	assert.Equal(t, "75%", f.Share("PERMISSION_DENIED"))
	assert.Equal(t, "0%", f.Share("GRANT_EXPIRED"))
	assert.Equal(t, 90*time.Second, f.SkewSeen)
	assert.Equal(t, 30*time.Second, f.Leeway, "the leeway a denial reported wins over the configured one")
	assert.Equal(t, "ES256", f.OfferedAlg)
	assert.Equal(t, "EdDSA", f.AcceptedAlgs)
	assert.Zero(t, f.ExpiredAgo)
	assert.Empty(t, f.Meta("no_such_key"))
	assert.Equal(t, map[string]int{PhaseCall: 4}, f.Phases)
	assert.Equal(t, 20*time.Millisecond, f.ApprovalWait)
	assert.Equal(t, 2*time.Second, f.Deadline)
	assert.Equal(t, "refused: GRANT_NOT_YET_VALID", f.Message)

	f = figures(&Record{Outcomes: []Outcome{okCall()}}, time.Minute)
	assert.Equal(t, time.Minute, f.Leeway, "without a denial the configured leeway is reported")
}

func TestExplainRendersFiguresAndReportsTemplateErrors(t *testing.T) {
	f := figures(&Record{Outcomes: []Outcome{denial(reason.GrantExpired, "expired_ago", "1m0s"), okCall()}}, 30*time.Second)
	tests := []struct {
		name, text, want, err string
	}{
		{"figures", `{{.Share "GRANT_EXPIRED"}} of {{.Calls}} calls: expired {{.ExpiredAgo}} ago, leeway {{.Leeway}}.`,
			"50% of 2 calls: expired 1m0s ago, leeway 30s.", ""},
		{"maps and meta", `{{index .Codes "OK"}} ok, {{.Meta "expired_ago"}}`, "1 ok, 1m0s", ""},
		{"empty", "  ", "", ""},
		{"parse error", `{{.Calls`, "", "explain template"},
		{"unknown field", `{{.NoSuchFigure}}`, "", "NoSuchFigure"},
		{"bad call", `{{.Share}}`, "", "Share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := explain(&scenarios.Scenario{Name: "x", Explain: tt.text}, f)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
