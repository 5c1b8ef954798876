package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The tables below are shared by the text, Markdown and HTML renderers, so
// the three always show the same figures.

// codeTable lists calls by code: CODE, CALLS, SHARE.
func codeTable(r *Result) *table {
	t := &table{head: []string{"code", "calls", "share"}, align: []align{left, right, right}}
	for _, code := range r.codeNames() {
		t.add(code, strconv.FormatInt(r.Codes[code], 10), fmtShare(r.Share(code)))
	}
	return t
}

// reasonTable lists calls by reason, and the calls of each non-OK code whose
// status carried no reason, so the failures always add up.
func reasonTable(r *Result) *table {
	t := &table{head: []string{"reason", "code", "calls", "share"}, align: []align{left, left, right, right}}
	rows := slices.Clone(r.Reasons)
	for code, n := range r.unexplained() {
		rows = append(rows, ReasonCount{Code: code, Reason: "(no reason)", Calls: n})
	}
	slices.SortStableFunc(rows, func(a, b ReasonCount) int {
		if a.Calls != b.Calls {
			if a.Calls > b.Calls {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	for _, rc := range rows {
		share := 0.0
		if r.Calls > 0 {
			share = float64(rc.Calls) / float64(r.Calls)
		}
		t.add(rc.Reason, rc.Code, strconv.FormatInt(rc.Calls, 10), fmtShare(share))
	}
	return t
}

// latencyTable lists the latency percentiles of all calls, of each code and of each phase.
func latencyTable(r *Result) *table {
	head := []string{"latency", "calls"}
	al := []align{left, right}
	for _, q := range quantiles {
		head = append(head, q.label)
		al = append(al, right)
	}
	head = append(head, "max", "mean")
	al = append(al, right, right)
	t := &table{head: head, align: al}
	row := func(label string, h *Histogram) {
		cells := []string{label, strconv.FormatInt(h.Count(), 10)}
		for _, q := range quantiles {
			cells = append(cells, fmtLatency(h.Percentile(q.p)))
		}
		t.add(append(cells, fmtLatency(h.Max()), fmtLatency(h.Mean()))...)
	}
	row("all", r.Latency)
	for _, code := range r.codeNames() {
		row(code, r.LatencyByCode[code])
	}
	for _, phase := range sortedKeys(r.Phases) {
		row("phase "+phase, r.Phases[phase])
	}
	return t
}

// expectationTable lists the expectations: RESULT, NAME, WANT, GOT.
func expectationTable(r *Result) *table {
	t := &table{head: []string{"result", "expectation", "want", "got"}, align: []align{left, left, left, left}}
	for _, e := range r.Expectations {
		t.add(passWord(e.Pass), e.Name, e.Want, e.Got)
	}
	return t
}

func passWord(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// headline sums the run up in one line: calls, rate and errors.
func headline(r *Result) string {
	return fmt.Sprintf("%d calls, %s, %s errors", r.Calls, fmtRate(r.Throughput()), fmtShare(r.ErrorRate()))
}

// timelineLine sums the timeline up: its length, its slowest second and the
// stretches in which no call completed, which is how a stall shows.
func timelineLine(r *Result) string {
	tl := r.Timeline
	if len(tl) == 0 {
		return "no timeline"
	}
	parts := []string{fmt.Sprintf("%d seconds", len(tl))}
	worst := -1
	for i, s := range tl {
		if s.Completed > 0 && (worst < 0 || s.P99 > tl[worst].P99) {
			worst = i
		}
	}
	if worst >= 0 {
		parts = append(parts, fmt.Sprintf("slowest second t=%ds (p99 %s)", tl[worst].T, fmtLatency(tl[worst].P99)))
	}
	for _, g := range stalls(tl) {
		parts = append(parts, fmt.Sprintf("no call completed in t=%ds..%ds", tl[g[0]].T, tl[g[1]].T))
	}
	return strings.Join(parts, "; ")
}

// stalls returns the runs of seconds, between the first and the last second
// with completions, in which no call completed: [first, last] indexes.
func stalls(tl []Second) [][2]int {
	var out [][2]int
	first, last := -1, -1
	for i, s := range tl {
		if s.Completed > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i := first + 1; first >= 0 && i < last; i++ {
		if tl[i].Completed > 0 {
			continue
		}
		j := i
		for j+1 < last && tl[j+1].Completed == 0 {
			j++
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

// notes are remarks a reader should not miss, such as clamped latencies.
func notes(r *Result) []string {
	var out []string
	if r.OverRange > 0 {
		out = append(out, fmt.Sprintf("%d calls took longer than 60s and count as 60s", r.OverRange))
	}
	if r.Calls == 0 {
		out = append(out, "no call completed in the measured window")
	}
	return out
}

// workersLine names the version and the workers.
func workersLine(run Run) string {
	v := run.Version
	if v == "" {
		v = "unknown"
	}
	s := "jitbench " + v
	if len(run.Workers) > 0 {
		s += ", workers " + strings.Join(run.Workers, ",")
	}
	return s
}
