package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
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

// timelineLine sums the timeline up: the time it covers, in how many clock
// seconds (the first and last usually in part), its slowest second and the
// stretches in which no call completed, which is how a stall shows.
func timelineLine(r *Result) string {
	tl := r.Timeline
	if len(tl) == 0 {
		return "no timeline"
	}
	if !slices.ContainsFunc(tl, func(s Second) bool { return s.Sent > 0 || s.Completed > 0 }) {
		return "no call in the window"
	}
	var total time.Duration
	for _, s := range tl {
		total += s.Covered
	}
	head := fmt.Sprintf("%s in %d clock seconds", fmtSpan(total), len(tl))
	if len(tl) == 1 {
		head = fmt.Sprintf("%s in 1 clock second", fmtSpan(total))
	}
	var partial []string
	if first := tl[0]; first.Covered < time.Second && len(tl) > 1 {
		partial = append(partial, "first "+fmtSpan(first.Covered))
	}
	if last := tl[len(tl)-1]; last.Covered < time.Second && len(tl) > 1 {
		partial = append(partial, "last "+fmtSpan(last.Covered))
	}
	if len(partial) > 0 {
		head += " (" + strings.Join(partial, ", ") + ")"
	}
	parts := []string{head}
	if worst := slowestSecond(tl); worst >= 0 {
		s := tl[worst]
		parts = append(parts, fmt.Sprintf("slowest second t=%ds (p99 %s of %d calls)", s.T, fmtLatency(s.P99), s.Completed))
	}
	for _, g := range stalls(tl) {
		parts = append(parts, fmt.Sprintf("no call completed in t=%ds..%ds", tl[g[0]].T, tl[g[1]].T))
	}
	return strings.Join(parts, "; ")
}

// slowestSecond returns the index of the second with completions whose p99
// is highest, or -1. A second the window covers less than half of (its
// first or last) holds few calls: it counts only when no fuller one has any.
func slowestSecond(tl []Second) int {
	worst := -1
	for i, s := range tl {
		if s.Completed == 0 {
			continue
		}
		if worst < 0 {
			worst = i
			continue
		}
		full, worstFull := s.Covered >= time.Second/2, tl[worst].Covered >= time.Second/2
		if full != worstFull {
			if full {
				worst = i
			}
			continue
		}
		if s.P99 > tl[worst].P99 {
			worst = i
		}
	}
	return worst
}

// fmtSpan writes a length of time: as a latency under a minute ("2.99s"),
// to the second above.
func fmtSpan(d time.Duration) string {
	if d < time.Minute {
		return fmtLatency(d)
	}
	return d.Round(time.Second).String()
}

// messageTable lists the most frequent status messages of each failed code
// and reason, the code and reason with most calls first, and how many of
// their calls had other messages.
func messageTable(r *Result) *table {
	t := &table{head: []string{"code", "reason", "calls", "message"}, align: []align{left, left, right, left}}
	ms := slices.Clone(r.Messages)
	total := func(mc MessageCounts) int64 {
		n := mc.Other
		for _, m := range mc.Top {
			n += m.Calls
		}
		return n
	}
	slices.SortStableFunc(ms, func(a, b MessageCounts) int {
		if ta, tb := total(a), total(b); ta != tb {
			if ta > tb {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	for _, mc := range ms {
		if len(mc.Top) == 1 && mc.Top[0].Message == "" && mc.Other == 0 {
			continue // statuses without a message: the reason table says it all
		}
		reason := orNoReason(mc.Reason)
		for _, m := range mc.Top {
			text := m.Message
			if text == "" {
				text = "(no message)"
			}
			t.add(mc.Code, reason, strconv.FormatInt(m.Calls, 10), text)
		}
		if mc.Other > 0 {
			t.add(mc.Code, reason, strconv.FormatInt(mc.Other, 10), "(other messages)")
		}
	}
	return t
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
