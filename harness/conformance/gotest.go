package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/jitbench/jitbench/reports"
)

// Run runs the whole suite against cfg from a Go test: each case is a
// subtest named by its id (go test -run 'Conformance/ALG-' selects), which
// fails with what was expected and what came back, and is skipped when the
// config cannot give what it needs. It returns the result for further
// checks; the test stops when the suite cannot run at all.
func Run(t *testing.T, cfg *Config) *reports.ConformanceResult {
	t.Helper()
	return RunWith(t, cfg, Options{})
}

// RunWith is Run with options: a known-failing list, --run and --skip globs.
// The control (OK-001) runs first: when it fails, the test stops with what
// in cfg most likely does not match the target.
func RunWith(t *testing.T, cfg *Config, opts Options) *reports.ConformanceResult {
	t.Helper()
	r, err := newRunner(t.Context(), cfg, opts)
	if err != nil {
		t.Fatalf("conformance: %v", err)
		return nil
	}
	defer r.close()
	res := r.result()
	for _, n := range res.Notes {
		t.Logf("note: %s", n)
	}
	err = r.runAll(res, func(c *Case) reports.ConformanceCase {
		var out reports.ConformanceCase
		t.Run(c.ID, func(t *testing.T) {
			out = r.runCase(t.Context(), c)
			report(t, out)
		})
		return out
	})
	res.Duration = reports.Duration(time.Since(r.start))
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	return res
}

// report fails, skips or logs t as out says.
func report(t *testing.T, out reports.ConformanceCase) {
	t.Helper()
	switch out.Verdict {
	case reports.CaseFail:
		t.Errorf("%s (%s): want %s, got %s %s\n%s: %s%s", out.ID, out.Fault, wantLine(out), orNone(out.Got), out.Reason,
			out.Rule, out.Detail, variantLines(out))
	case reports.CaseSkip, reports.CaseNotApplicable:
		if out.Rule == RuleSetup {
			t.Errorf("%s (%s): %s", out.ID, out.Fault, out.Detail)
			return
		}
		t.Skip(out.Detail)
	case reports.CaseKnownFail:
		t.Skipf("known failing: %s", out.Detail)
	default:
		t.Logf("%s: %s %s in %s", out.ID, out.Got, out.Reason, time.Duration(out.Latency).Round(time.Microsecond))
	}
}

// wantLine is the expected code and the codes allowed instead.
func wantLine(out reports.ConformanceCase) string {
	return strings.Join(append([]string{out.Want}, out.Also...), " or ")
}

// variantLines lists each variant's answer, one per line.
func variantLines(out reports.ConformanceCase) string {
	var b strings.Builder
	for _, v := range out.Variants {
		b.WriteString("\n  " + v.Name + ": ")
		switch {
		case v.Skipped:
			b.WriteString("skipped: " + v.Detail)
		case v.Pass:
			b.WriteString(v.Got + " " + v.Reason + " (pass)")
		default:
			b.WriteString(v.Got + " " + v.Reason + " [" + strings.Join(v.Rules, ", ") + "] " + v.Detail)
		}
	}
	return b.String()
}

// orNone is s, or "no answer" when the case failed before any call.
func orNone(s string) string {
	if s == "" {
		return "no answer"
	}
	return s
}
