package harness

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/jitbench/jitbench/reference/reason"
)

// Verdict is "PASS" when every check held, else "FAIL".
func (r *Report) Verdict() string {
	if r.Pass() {
		return "PASS"
	}
	return "FAIL"
}

// WriteText prints the report for a terminal: a heading with the verdict,
// the calls by code, reason and phase, latency, and every check.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s  %s  (%s, seed %d, %d calls in %v)\n", r.Verdict(), r.Scenario, r.Topology, r.Seed, r.Calls, r.Elapsed)
	if r.Summary != "" {
		fmt.Fprintf(w, "  %s\n", r.Summary)
	}
	if r.Calls > 0 {
		r.writeRows(w)
		fmt.Fprintf(w, "  latency p50 %v  p90 %v  p99 %v  max %v\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	}
	r.writeDiagnoses(w)
	r.writeMeasurements(w)
	r.writeChecks(w, "  ")
	r.writeNotes(w, "  ")
}

// writeFaults prints what each fault did, as the run measured it.
func (r *Report) writeFaults(w io.Writer) {
	for _, f := range r.Faults {
		switch {
		case !f.Applied:
			fmt.Fprintf(w, "  fault %s: never applied\n", f.Kind)
		case f.Until > 0:
			fmt.Fprintf(w, "  fault %s from %v to %v: %s\n", f.Kind, round(f.At), round(f.Until), f.Effect)
		default:
			fmt.Fprintf(w, "  fault %s from %v: %s\n", f.Kind, round(f.At), f.Effect)
		}
	}
}

// writeDiagnoses prints the causes of the failed calls to a user's service, most frequent first.
func (r *Report) writeDiagnoses(w io.Writer) {
	for _, d := range r.Diagnoses {
		cause := d.Cause
		if !d.Known {
			cause = "cause not told"
		}
		fmt.Fprintf(w, "  diagnosis (%d of %d calls, %s): %s\n", d.Calls, r.Calls, cause, d.Summary)
		if d.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", d.Fix)
		}
	}
}

// writeMeasurements prints what the measurements of a user's service found.
func (r *Report) writeMeasurements(w io.Writer) {
	for _, line := range measurementLines(r.Measurements) {
		fmt.Fprintf(w, "  measured %s\n", line)
	}
}

// writeNotes prints what the run could not observe or check.
func (r *Report) writeNotes(w io.Writer, indent string) {
	for _, n := range r.Notes {
		fmt.Fprintf(w, "%snote: %s\n", indent, n)
	}
}

func (r *Report) writeRows(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CODE\tREASON\tPHASE\tCALLS\tSHARE\tP50")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%v\n", row.Code, dash(row.Reason), row.Phase, row.Count, row.Share, row.P50)
	}
	_ = tw.Flush()
}

// writeChecks prints every check as an expected-vs-got table, failures marked.
func (r *Report) writeChecks(w io.Writer, indent string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tCHECK\tWANT\tGOT\n", indent)
	for _, c := range r.Checks {
		mark := "ok"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", indent, mark, c.Name, c.Want, c.Got)
	}
	_ = tw.Flush()
}

// Diff is the readable account of a failed run that harness.Run reports:
// which expectations failed, every check with what was expected and what
// the run got, and the calls by code and reason.
func (r *Report) Diff() string {
	var b strings.Builder
	failed := r.Failed()
	fmt.Fprintf(&b, "scenario %s: %d of %d checks failed (%s, seed %d, %d calls)\n\n",
		r.Scenario, len(failed), len(r.Checks), r.Topology, r.Seed, r.Calls)
	r.writeChecks(&b, "")
	r.writeNotes(&b, "")
	b.WriteString("\nwhat the calls got:\n")
	r.writeRows(&b)
	if r.TopDenial != nil {
		fmt.Fprintf(&b, "\nmost frequent failure: %s %s: %s\n", r.TopDenial.Code, dash(r.TopDenial.Reason), r.TopDenial.Message)
	}
	return b.String()
}

// WriteRepro prints what `jitbench repro` shows: what happened (codes,
// reasons, phases, latency, the grant waits), then the diagnosis: the
// scenario's explanation with the measured figures, the most frequent
// failure's message, metadata and fix, and whether the expectations held.
func (r *Report) WriteRepro(w io.Writer) {
	fmt.Fprintf(w, "scenario %s (%s, seed %d)\n", r.Scenario, r.Topology, r.Seed)
	if r.Summary != "" {
		fmt.Fprintf(w, "  %s\n", r.Summary)
	}
	r.writeMeasurements(w)
	fmt.Fprintf(w, "\nWhat happened: %d calls in %v\n", r.Calls, r.Elapsed)
	r.writeRows(w)
	f := r.Figures
	fmt.Fprintf(w, "  latency p50 %v  p90 %v  p99 %v  max %v; deadline %v\n", f.P50, f.P90, f.P99, f.Max, f.Deadline)
	if n := f.Phases[PhaseGrant]; n > 0 {
		atService := 0
		for _, row := range r.Rows {
			if row.Phase == PhaseCall && row.Code != "OK" {
				atService += row.Count
			}
		}
		fmt.Fprintf(w, "  %d calls failed while obtaining their grant (phase grant), %d failed in the call itself (phase call)\n", n, atService)
	}
	if f.Approvals+f.Denials > 0 {
		fmt.Fprintf(w, "  the broker approved %d and denied %d requests; median approval wait %v\n", f.Approvals, f.Denials, f.ApprovalWait)
	}
	if f.GrantWait > 0 {
		fmt.Fprintf(w, "  calls that asked for a grant waited %v for it (median)\n", f.GrantWait)
	}
	r.writeFaults(w)

	fmt.Fprintln(w, "\nDiagnosis:")
	if r.Explanation != "" {
		for _, line := range strings.Split(r.Explanation, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	} else {
		fmt.Fprintln(w, "  (the scenario has no explanation)")
	}
	if len(r.Diagnoses) > 0 {
		fmt.Fprintln(w, "\nEach failed call, diagnosed from what your service returned and what the call carried:")
		r.writeDiagnoses(w)
	}
	if d := r.TopDenial; d != nil {
		fmt.Fprintf(w, "\nMost frequent failure: %s %s, %d of %d calls (phase %s)\n", d.Code, dash(d.Reason), d.Count, r.Calls, d.Phase)
		if d.Message != "" {
			fmt.Fprintf(w, "  message: %s\n", d.Message)
		}
		if md := reason.FormatMetadata(d.Metadata); md != "" {
			fmt.Fprintf(w, "  details: %s\n", md)
		}
		if d.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", d.Fix)
		}
	} else {
		fmt.Fprintln(w, "\nEvery call succeeded.")
	}
	fmt.Fprintf(w, "\nExpectations: %s\n", r.Verdict())
	r.writeChecks(w, "  ")
	r.writeNotes(w, "  ")
}
