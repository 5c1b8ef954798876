package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// Diagnosis is the failed calls to a user's service with one diagnosed
// cause, as jitbench told it from what the service returned and what the
// calls carried.
type Diagnosis struct {
	// Cause is a stable id such as token-expired; Known is false when the cause could not be told.
	Cause string `json:"cause"`
	Known bool   `json:"known"`
	// Calls is how many failed calls it holds.
	Calls int64 `json:"calls"`
	// Summary says it in one line with its figures (tokens redacted); Fix says what to change.
	Summary string `json:"summary"`
	Fix     string `json:"fix,omitempty"`
}

// diagnosisTable is the diagnoses, most frequent first.
func diagnosisTable(r *Result) *table {
	t := &table{head: []string{"cause", "calls", "diagnosis", "fix"}, align: []align{left, right, left, left}}
	for _, d := range r.Diagnoses {
		cause := d.Cause
		if !d.Known {
			cause += " (cause not told)"
		}
		t.add(cause, strconv.FormatInt(d.Calls, 10), d.Summary, d.Fix)
	}
	return t
}

// findingTable is what the measurements found, one line each.
func findingTable(r *Result) *table {
	t := &table{head: []string{"measurement"}, align: []align{left}}
	for _, f := range r.Findings {
		t.add(f)
	}
	return t
}

// mergeDiagnoses adds up the diagnoses of several results by cause; the
// first summary and fix seen for a cause stand for all.
func mergeDiagnoses(results []*Result) []Diagnosis {
	byCause := map[string]*Diagnosis{}
	var order []string
	for _, r := range results {
		for _, d := range r.Diagnoses {
			if cur, ok := byCause[d.Cause]; ok {
				cur.Calls += d.Calls
				continue
			}
			c := d
			byCause[d.Cause] = &c
			order = append(order, d.Cause)
		}
	}
	out := make([]Diagnosis, 0, len(order))
	for _, c := range order {
		out = append(out, *byCause[c])
	}
	slices.SortStableFunc(out, func(a, b Diagnosis) int { return cmp.Compare(b.Calls, a.Calls) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// checkDiagnoses refuses diagnoses that claim more calls than the result holds.
func (r *Result) checkDiagnoses() error {
	var n int64
	for _, d := range r.Diagnoses {
		if d.Calls < 0 || d.Cause == "" {
			return fmt.Errorf("diagnosis %q: a cause and a count of calls are needed", d.Cause)
		}
		n += d.Calls
	}
	if n > r.Calls {
		return fmt.Errorf("the diagnoses count %d calls, the result %d", n, r.Calls)
	}
	return nil
}
