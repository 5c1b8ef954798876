package reports_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// conformanceFixture is a run with one case of every verdict, a case whose
// variants disagree, and a note: everything the renderers must show.
func conformanceFixture() *reports.ConformanceResult {
	ms := func(n float64) reports.Duration {
		return reports.Duration(time.Duration(n * float64(time.Millisecond)))
	}
	return &reports.ConformanceResult{
		Schema:   reports.ConformanceSchema,
		Target:   "127.0.0.1:7443",
		Profile:  "two-token",
		Method:   "/demo.v1.Vault/Read",
		Start:    t0,
		Duration: ms(1234.5),
		Version:  "v0.1.0-test",
		Notes:    []string{"handler runs are not observable on this target: the handler-not-run rule was not checked"},
		Cases: []reports.ConformanceCase{
			{ID: "OK-001", Fault: "valid identity, approved grant in scope", Want: "OK", Got: "OK", Latency: ms(0.8),
				Verdict: reports.CasePass, Variants: []reports.ConformanceVariant{{Name: "valid", Got: "OK", Latency: ms(0.8), Pass: true}}},
			{ID: "ALG-001", Fault: "alg none / None / NONE / nOnE", Want: "PERMISSION_DENIED", Got: "OK", Latency: ms(0.4),
				Verdict: reports.CaseFail, Rule: "never-ok", Detail: "a forged credential was accepted",
				Variants: []reports.ConformanceVariant{
					{Name: "none", Got: "PERMISSION_DENIED", Reason: "GRANT_ALG_MISMATCH", Latency: ms(0.3), Pass: true},
					{Name: "nOnE", Got: "OK", Latency: ms(0.4), Rules: []string{"never-ok", "handler-not-run", "expected-code"},
						Detail: "a forged credential was accepted"},
				}},
			{ID: "CLM-001", Fault: "exp past, beyond leeway", Want: "PERMISSION_DENIED", Also: []string{"UNAUTHENTICATED"},
				Got: "INTERNAL", Message: "token [redacted] could not be parsed", Latency: ms(2),
				Verdict: reports.CaseKnownFail, Rule: "no-unknown-or-internal", Detail: "listed in known-failing.txt",
				Variants: []reports.ConformanceVariant{{Name: "expired", Got: "INTERNAL", Message: "token [redacted] could not be parsed",
					Latency: ms(2), Rules: []string{"no-unknown-or-internal", "expected-code"}}}},
			{ID: "CLM-007", Fault: "grant sub differs from the identity", Verdict: reports.CaseNotApplicable,
				Detail: "the single-token profile has no separate identity"},
			{ID: "SCP-003", Fault: "grant revoked after issue", Want: "PERMISSION_DENIED", Verdict: reports.CaseSkip,
				Detail: "needs: broker (the config names no broker the target trusts)"},
			{ID: "OUT-001", Fault: "broker down when a grant is needed (client side)", Want: "UNAVAILABLE", Got: "UNAVAILABLE",
				Reason: "BROKER_UNAVAILABLE", Latency: ms(12.3), Verdict: reports.CasePass,
				Variants: []reports.ConformanceVariant{{Name: "refused", Got: "UNAVAILABLE", Reason: "BROKER_UNAVAILABLE", Latency: ms(12.3), Pass: true}}},
		},
	}
}

func renderConformance(t *testing.T, r *reports.ConformanceResult, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, reports.RenderConformance(&b, r, format))
	return b.Bytes()
}

func TestConformanceRenderGolden(t *testing.T) {
	for _, tt := range []struct{ format, file string }{
		{"text", "conformance.txt"},
		{"md", "conformance.md"},
		{"junit", "conformance.junit.xml"},
		{"json", "conformance.json"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			golden(t, tt.file, renderConformance(t, conformanceFixture(), tt.format))
		})
	}
}

func TestConformanceSummary(t *testing.T) {
	r := conformanceFixture()
	s := r.Summary()
	assert.Equal(t, reports.ConformanceSummary{Total: 6, Passed: 2, Failed: 1, Skipped: 1, KnownFailing: 1, NotApplicable: 1}, s)
	assert.True(t, r.Failed())
	assert.Equal(t, "6 cases: 2 passed, 1 failed, 1 skipped, 1 known failing, 1 not applicable", s.String())

	r.Cases[1].Verdict = reports.CaseKnownFail
	assert.False(t, r.Failed(), "known failing cases do not fail the run")
	text := string(renderConformance(t, r, "text"))
	assert.Contains(t, text, "\nPASS: 6 cases")
}

// The JUnit document must be read by a real JUnit parser, with one test
// per case named by its id, failures and skips where the verdicts say.
func TestConformanceJUnitParses(t *testing.T) {
	suites, err := junit.Ingest(renderConformance(t, conformanceFixture(), "junit"))
	require.NoError(t, err)
	require.Len(t, suites, 1)
	s := suites[0]
	assert.Equal(t, "jitbench.conformance", s.Name)
	var names []string
	status := map[string]junit.Status{}
	for _, tc := range s.Tests {
		names = append(names, tc.Name)
		status[tc.Name] = tc.Status
	}
	assert.Equal(t, []string{"OK-001", "ALG-001", "CLM-001", "CLM-007", "SCP-003", "OUT-001"}, names)
	assert.Equal(t, junit.StatusPassed, status["OK-001"])
	assert.Equal(t, junit.StatusFailed, status["ALG-001"])
	assert.Equal(t, junit.StatusSkipped, status["CLM-001"], "known failing does not fail the job")
	assert.Equal(t, junit.StatusSkipped, status["CLM-007"])
	assert.Equal(t, junit.StatusSkipped, status["SCP-003"])
	assert.Equal(t, 1, s.Totals.Failed)
	assert.Equal(t, 3, s.Totals.Skipped)
	assert.Equal(t, 2, s.Totals.Passed)
	for _, tc := range s.Tests {
		switch tc.Name {
		case "ALG-001":
			require.Error(t, tc.Error)
			assert.Contains(t, tc.Message, "want PERMISSION_DENIED, got OK")
			assert.Contains(t, tc.Error.Error(), "nOnE", "the failing variant is named")
		case "SCP-003":
			assert.Contains(t, tc.Message, "needs: broker")
		}
	}
}

func TestConformanceJSONRoundTrip(t *testing.T) {
	want := conformanceFixture()
	got, err := reports.ReadConformance(bytes.NewReader(renderConformance(t, want, "json")))
	require.NoError(t, err)
	assert.Equal(t, want.Cases, got.Cases)
	assert.Equal(t, want.Summary(), got.Summary())
	assert.True(t, want.Start.Equal(got.Start))
}

func TestReadConformanceRefuses(t *testing.T) {
	for name, tt := range map[string]struct{ in, want string }{
		"empty":           {"", "the input is empty"},
		"not JSON":        {"{", "not a jitbench conformance result"},
		"load result":     {`{"schema":"jitbench.result/v1"}`, `schema "jitbench.result/v1"`},
		"unknown verdict": {`{"schema":"jitbench.conformance/v1","cases":[{"id":"OK-001","verdict":"maybe"}]}`, `case OK-001 has the unknown verdict "maybe"`},
		"wrong type":      {`{"schema":"jitbench.conformance/v1","cases":{}}`, "cases"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := reports.ReadConformance(strings.NewReader(tt.in))
			require.ErrorIs(t, err, reports.ErrNotConformance)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestRenderConformanceUnknownFormat(t *testing.T) {
	err := reports.RenderConformance(&bytes.Buffer{}, conformanceFixture(), "html")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "json, junit, md, text")
	assert.Equal(t, []string{"json", "junit", "md", "text"}, reports.ConformanceFormats())
}

// TestConformanceSetupFailureIsAnError: a case the harness could not stage
// is skipped with rule setup; the run then proved nothing about it, so no
// renderer may call it a pass: the text and Markdown summaries say ERROR
// with the reason, and JUnit carries an <error> a CI test view shows.
func TestConformanceSetupFailureIsAnError(t *testing.T) {
	r := conformanceFixture()
	r.Cases[1].Verdict = reports.CaseKnownFail // no failure left: before the fix this run read PASS
	r.Cases[4].Rule, r.Cases[4].Detail = reports.ConformanceRuleSetup, "setup failed: the revoke hook exited 3"
	require.False(t, r.Failed())
	assert.Equal(t, []string{"SCP-003: the revoke hook exited 3"}, r.SetupErrors())

	text := string(renderConformance(t, r, "text"))
	assert.Contains(t, text, "\nERROR: setup failed: SCP-003: the revoke hook exited 3: 6 cases")
	assert.NotContains(t, text, "PASS")

	md := string(renderConformance(t, r, "md"))
	assert.Contains(t, md, "**⚠️ ERROR: setup failed: SCP-003: the revoke hook exited 3**")
	assert.NotContains(t, md, "✅")

	suites, err := junit.Ingest(renderConformance(t, r, "junit"))
	require.NoError(t, err)
	require.Len(t, suites, 1)
	assert.Equal(t, 1, suites[0].Totals.Error)
	for _, tc := range suites[0].Tests {
		if tc.Name == "SCP-003" {
			assert.Equal(t, junit.StatusError, tc.Status)
			assert.Contains(t, tc.Message, "the revoke hook exited 3")
		}
	}
	raw := string(renderConformance(t, r, "junit"))
	assert.Regexp(t, `<error message="ERROR: SCP-003: setup failed: the revoke hook exited 3"`, raw)
}
