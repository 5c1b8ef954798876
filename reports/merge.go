package reports

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Merge combines the results of several workers of one run into one result.
// It is exact: histograms add bucket by bucket, so merging the parts of a
// split run gives the same counts and percentiles as recording it whole.
//
// Status messages are kept exactly or not at all: a message's merged
// count is the sum of its counts in every part, and it is kept (among the
// TopMessages most frequent) only when that sum is complete, that is when
// each part with calls of its code and reason either lists it or lists all
// of them. A message a part may have counted among its Other calls (it was
// not in that part's top) is left out and its calls join Other.
//
// Results must share the schema, the method and the load mode. Rates,
// concurrency and connections add up, the window spans all the parts, and
// expectations are dropped: they were checked against one part, so the
// caller checks them again against the merged result.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("merge: no results")
	}
	for i, r := range results {
		if r == nil {
			return nil, fmt.Errorf("merge: result %d is nil", i+1)
		}
		if r.Schema != Schema {
			return nil, fmt.Errorf("merge: result %d has schema %q, want %q", i+1, r.Schema, Schema)
		}
		if r.Run.Method != results[0].Run.Method {
			return nil, fmt.Errorf("merge: result %d calls %q but result 1 calls %q: results of different methods do not merge",
				i+1, r.Run.Method, results[0].Run.Method)
		}
		if r.Run.Mode != results[0].Run.Mode {
			return nil, fmt.Errorf("merge: result %d is %s but result 1 is %s: their latencies are measured differently",
				i+1, modeName(r.Run.Mode), modeName(results[0].Run.Mode))
		}
	}

	out := &Result{
		Schema:          Schema,
		Run:             mergeRuns(results),
		Codes:           map[string]int64{},
		Reasons:         []ReasonCount{},
		Latency:         NewHistogram(),
		LatencyByCode:   Histograms{},
		LatencyByReason: Histograms{},
	}
	reasons := map[pairKey]int64{}
	bySecond := map[int64][]*Second{}
	for _, r := range results {
		out.Calls += r.Calls
		out.OverRange += r.OverRange
		for code, n := range r.Codes {
			out.Codes[code] += n
		}
		for _, rc := range r.Reasons {
			reasons[pairKey{rc.Code, rc.Reason}] += rc.Calls
		}
		out.Latency.Merge(r.Latency)
		mergeHistograms(&out.LatencyByCode, r.LatencyByCode)
		mergeHistograms(&out.LatencyByReason, r.LatencyByReason)
		mergeHistograms(&out.Phases, r.Phases)
		for i := range r.Timeline {
			s := &r.Timeline[i]
			bySecond[s.Unix] = append(bySecond[s.Unix], s)
		}
	}
	seconds := make(map[int64]*Second, len(bySecond))
	for unix, parts := range bySecond {
		s, err := sumSeconds(unix, parts)
		if err != nil {
			return nil, fmt.Errorf("merge: timeline second %d: %w", unix, err)
		}
		seconds[unix] = s
	}
	for k, n := range reasons {
		out.Reasons = append(out.Reasons, ReasonCount{Code: k.code, Reason: k.reason, Calls: n})
	}
	sortReasons(out.Reasons)
	out.Messages = mergeMessages(out, results)
	out.Timeline = buildTimeline(seconds, out.Run.Start, out.Run.End)
	out.Diagnoses = mergeDiagnoses(results)
	return out, nil
}

// mergeMessages combines the parts' messages for out, the merged result
// whose codes and reasons are already summed.
func mergeMessages(out *Result, results []*Result) []MessageCounts {
	byPair := map[pairKey][]messagePart{}
	for _, r := range results {
		for k, p := range r.messageParts() {
			byPair[k] = append(byPair[k], p)
		}
	}
	totals := out.pairCalls()
	var ms []MessageCounts
	for k, parts := range byPair {
		if mc, ok := combineMessages(k.code, k.reason, totals[k], parts); ok {
			ms = append(ms, mc)
		}
	}
	sortMessageCounts(ms)
	return ms
}

func mergeHistograms(dst *Histograms, src Histograms) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = Histograms{}
	}
	for k, h := range src {
		d := (*dst)[k]
		if d == nil {
			d = NewHistogram()
			(*dst)[k] = d
		}
		d.Merge(h)
	}
}

// mergeRuns describes the merged run: the window spanning every part, the
// load of all parts together, and the settings of the first part.
func mergeRuns(results []*Result) Run {
	run := results[0].Run
	run.Workers = nil
	run.WarmUpCalls = 0
	run.Rate, run.Concurrency, run.Connections = 0, 0, 0
	var targets, versions []string
	for _, r := range results {
		p := r.Run
		if run.Name == "" {
			run.Name = p.Name
		}
		if run.Pacer == "" {
			run.Pacer = p.Pacer
		}
		targets = appendNew(targets, p.Target)
		versions = appendNew(versions, p.Version)
		if !p.Start.IsZero() && (run.Start.IsZero() || p.Start.Before(run.Start)) {
			run.Start = p.Start
		}
		if p.End.After(run.End) {
			run.End = p.End
		}
		run.WarmUp = max(run.WarmUp, p.WarmUp)
		run.WarmUpCalls += p.WarmUpCalls
		run.Rate += p.Rate
		run.Concurrency += p.Concurrency
		run.Connections += p.Connections
		run.Workers = append(run.Workers, p.Workers...)
	}
	run.Target = strings.Join(targets, ",")
	run.Version = strings.Join(versions, ",")
	run.Start, run.End = utc(run.Start), utc(run.End)
	run.Duration = 0
	if !run.Start.IsZero() && run.End.After(run.Start) {
		run.Duration = Duration(run.End.Sub(run.Start))
	}
	return run
}

// appendNew appends s unless it is empty or already there.
func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func modeName(m Mode) string {
	if m == "" {
		return "of no mode"
	}
	return string(m) + " loop"
}
