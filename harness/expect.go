package harness

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/scenarios"
)

// Check is one expectation of a run and whether it held.
type Check struct {
	// Name says what was checked, e.g. "code PERMISSION_DENIED" or "latency p99".
	Name string `json:"name"`
	// Want is the expectation as written; Got is what the run measured.
	Want string `json:"want"`
	Got  string `json:"got"`
	// Pass reports whether Got satisfies Want.
	Pass bool `json:"pass"`
}

// HandlerCheck names the check every run makes: a refused call must never reach the protected handler.
const HandlerCheck = "handler never ran for a denied call"

// ExplainCheck names the check that the scenario's explanation renders.
const ExplainCheck = "explanation renders"

// CallsCheck names the check a run with no calls fails: every other check would hold on nothing.
const CallsCheck = "calls made"

// NoCalls is what CallsCheck got in a run that made no call.
const NoCalls = "none: no calls were made: nothing was checked"

// checks evaluates sc's expectations, and the checks every run makes, against rec.
func checks(sc scenarios.Scenario, rec *Record, f Figures, explainErr error) []Check {
	var out []Check
	calls := len(rec.Outcomes)
	if calls == 0 && (len(sc.Measure) == 0 || sc.Load.Calls > 0 || sc.Load.Duration > 0) {
		// "At most" and "0%" hold on no calls at all: say that nothing was checked.
		out = append(out, Check{Name: CallsCheck, Want: "at least 1", Got: NoCalls})
	}
	shareChecks := func(kind string, raw map[string]string, parsed map[string]scenarios.Share, counts map[string]int) {
		for _, k := range slices.Sorted(maps.Keys(raw)) {
			want, ok := parsed[k]
			if !ok {
				var err error
				if want, err = scenarios.ParseShare(raw[k]); err != nil {
					out = append(out, Check{Name: kind + " " + k, Want: raw[k], Got: err.Error()})
					continue
				}
			}
			got := 0.0
			if calls > 0 {
				got = float64(counts[k]) / float64(calls)
			}
			out = append(out, Check{Name: kind + " " + k, Want: want.String(),
				Got: fmt.Sprintf("%s (%d of %d)", percent(counts[k], calls), counts[k], calls), Pass: want.Check(got)})
		}
	}
	shareChecks("code", sc.Expect.Codes, sc.Expect.CodeShares, f.Codes)
	shareChecks("reason", sc.Expect.Reasons, sc.Expect.ReasonShares, f.Reasons)
	shareChecks(DiagnosesCheck, sc.Expect.Diagnoses, sc.Expect.DiagnosisShares, diagnosisCounts(diagnosisRows(rec.Outcomes)))
	if anyFailed(rec.Outcomes) && (sc.Topology == TopologyExternal || len(sc.Expect.Diagnoses) > 0 || anyDiagnosis(rec.Outcomes)) {
		out = append(out, diagnosedCheck(rec.Outcomes))
	}

	latencies := make([]time.Duration, len(rec.Outcomes))
	for i, o := range rec.Outcomes {
		latencies[i] = o.Latency
	}
	for _, k := range slices.Sorted(maps.Keys(sc.Expect.Latency)) {
		name := "latency " + k
		bound, ok := sc.Expect.LatencyBounds[k]
		p, perr := scenarios.ParsePercentile(k)
		if !ok {
			var err error
			if bound, err = scenarios.ParseBound(sc.Expect.Latency[k]); err != nil {
				out = append(out, Check{Name: name, Want: sc.Expect.Latency[k], Got: err.Error()})
				continue
			}
		}
		if perr != nil {
			out = append(out, Check{Name: name, Want: bound.String(), Got: perr.Error()})
			continue
		}
		got := percentile(latencies, p)
		out = append(out, Check{Name: name, Want: bound.String(), Got: got.String(), Pass: bound.Check(got)})
	}

	out = append(out, measurementChecks(sc, rec.Measurements)...)
	out = append(out, actedChecks(sc, rec)...)
	if !rec.HandlerUncounted {
		out = append(out, handlerCheck(rec))
	}
	if sc.Explain != "" {
		c := Check{Name: ExplainCheck, Want: "no error", Got: "ok", Pass: explainErr == nil}
		if explainErr != nil {
			c.Got = explainErr.Error()
		}
		out = append(out, c)
	}
	return out
}

// DiagnosedCheck names the check that every failed call to a user's service was diagnosed.
const DiagnosedCheck = "every failed call diagnosed"

// anyFailed reports whether a call failed: with none, there is nothing to diagnose.
func anyFailed(outcomes []Outcome) bool {
	return slices.ContainsFunc(outcomes, func(o Outcome) bool { return o.Code != codes.OK })
}

// anyDiagnosis reports whether a run diagnosed its calls (it ran against a user's service).
func anyDiagnosis(outcomes []Outcome) bool {
	return slices.ContainsFunc(outcomes, func(o Outcome) bool { return o.Diagnosis != nil })
}

// diagnosedCheck: every failed call names a cause, or says plainly that
// its cause cannot be told and why.
func diagnosedCheck(outcomes []Outcome) Check {
	failed, told, unknown := 0, 0, 0
	for _, o := range outcomes {
		if o.Code == codes.OK {
			continue
		}
		failed++
		if d := o.Diagnosis; d != nil && d.Summary != "" {
			told++
			if !d.Known {
				unknown++
			}
		}
	}
	got := fmt.Sprintf("%d of %d", told, failed)
	if unknown > 0 {
		got += fmt.Sprintf(" (%d say why the cause cannot be told)", unknown)
	}
	return Check{Name: DiagnosedCheck, Want: "all", Got: got, Pass: told == failed}
}

// handlerCheck compares the handler's runs with the calls that were let
// through. Every OK call ran it once. An attempt that left the client and
// then failed without a refusal (a deadline hit on the way back, a reset)
// may have run it too, so those widen the allowance; a refused attempt, or
// one that never left the client, never does. Counting at the end is exact
// under concurrency, where sampling the counter around each call is not.
func handlerCheck(rec *Record) Check {
	ok, most := 0, 0
	for _, o := range rec.Outcomes {
		if o.Code == codes.OK {
			ok++
		}
		most += o.MayHaveRun
	}
	most = max(most, ok)
	want := fmt.Sprintf("%d (the OK calls)", ok)
	if most > ok {
		want = fmt.Sprintf("%d to %d (the OK calls, plus attempts that failed after being sent)", ok, most)
	}
	runs := int(rec.HandlerRuns)
	return Check{Name: HandlerCheck, Want: want, Got: fmt.Sprintf("%d handler runs", runs), Pass: runs >= ok && runs <= most}
}
