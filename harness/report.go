package harness

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/measure"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
	"github.com/jitbench/jitbench/scenarios"
)

// Report is what a scenario run showed and whether its expectations held.
type Report struct {
	// Scenario, Summary and Cause identify the scenario; Topology and Seed say how it ran.
	Scenario string `json:"scenario"`
	Summary  string `json:"summary,omitempty"`
	Cause    string `json:"cause,omitempty"`
	Topology string `json:"topology"`
	Seed     int64  `json:"seed"`
	// Calls is how many calls were made; Elapsed how long they took in all.
	Calls   int           `json:"calls"`
	Elapsed time.Duration `json:"elapsed"`
	// Codes, Reasons and Phases count the calls by code name, reason and phase.
	Codes   map[string]int `json:"codes"`
	Reasons map[string]int `json:"reasons"`
	Phases  map[string]int `json:"phases"`
	// Rows break the calls down by code, reason and phase, most frequent first.
	Rows []Row `json:"rows"`
	// Latency summarises every call's latency.
	Latency Latency `json:"latency"`
	// HandlerRuns counts how often the protected handler ran (0 when it could not be counted: see Notes).
	HandlerRuns int64 `json:"handler_runs"`
	// Faults say what each of the scenario's faults did: when it applied, what it changed, how often the system met it.
	Faults []FaultRun `json:"faults,omitempty"`
	// Checks are the expectations and whether each held.
	Checks []Check `json:"checks"`
	// Notes say, in words, what the run could not observe or check.
	Notes []string `json:"notes,omitempty"`
	// Figures are the measured values the explanation is rendered with.
	Figures Figures `json:"figures"`
	// Explanation is the scenario's explain: template rendered with Figures.
	Explanation string `json:"explanation,omitempty"`
	// TopDenial is the most frequent failure, with one instance's message and metadata; nil when every call passed.
	TopDenial *Denial `json:"top_denial,omitempty"`
	// Diagnoses group the failed calls to a user's service by their diagnosed cause, most frequent first.
	Diagnoses []DiagnosisRow `json:"diagnoses,omitempty"`
	// Measurements are what the scenario's measurements of a user's service found.
	Measurements []measure.Result `json:"measurements,omitempty"`
	// Outcomes are the individual calls.
	Outcomes []Outcome `json:"-"`
	// Result is the run as a reports result (latency histograms per code and
	// reason, a per-second timeline) with Checks as its expectations, for
	// `jitbench run -o` and the report renderers; nil when the record has none.
	Result *reports.Result `json:"-"`
}

// Row is the calls with one code, reason and phase.
type Row struct {
	// Code, Reason and Phase identify the group; Reason is empty for calls without one.
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
	Phase  string `json:"phase"`
	// Count is how many calls it holds, Share their part of all calls ("45%").
	Count int    `json:"count"`
	Share string `json:"share"`
	// P50 is the group's median latency.
	P50 time.Duration `json:"p50"`
}

// Latency holds latency percentiles.
type Latency struct {
	// P50, P90 and P99 are nearest-rank percentiles; Max is the slowest call.
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// Denial is one kind of failure: its code and reason, how many calls got
// it, the message and metadata of one of them, and the catalog's fix.
type Denial struct {
	// Code, Reason and Phase identify the failure; Count is how many calls got it.
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
	Phase  string `json:"phase"`
	Count  int    `json:"count"`
	// Message and Metadata are one such call's status message and ErrorInfo metadata.
	Message  string            `json:"message,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Fix is the reason catalog's advice, empty for a status without a reason.
	Fix string `json:"fix,omitempty"`
}

// Pass reports whether every check held.
func (r *Report) Pass() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

// Failed returns the checks that did not hold.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

// NoteHandlerUncounted is the note of a run whose protected handler's runs
// could not be counted.
const NoteHandlerUncounted = "the protected handler's runs cannot be counted in a container: the check that it never ran for a denied call (" +
	HandlerCheck + ") was left out"

// NoteHandlerUnseen is the note of a run against a user's service, whose
// protected handler runs out of jitbench's sight.
const NoteHandlerUnseen = "your service's handler runs are not visible to jitbench: the check that it never ran for a denied call (" +
	HandlerCheck + ") was left out"

// Evaluate turns a run's record into a report: counts, latency, figures,
// the rendered explanation and every check. sc is the scenario as run.
func Evaluate(sc *scenarios.Scenario, topology string, rec *Record) *Report {
	s := withDefaults(*sc)
	f := figures(rec, s.Service.Leeway)
	f.Measurements = strings.Join(measurementLines(rec.Measurements), "\n")
	diagnoses := diagnosisRows(rec.Outcomes)
	if len(diagnoses) > 0 {
		f.Diagnosis, f.Fix = diagnoses[0].Summary, diagnoses[0].Fix
	}
	text, explainErr := explain(&s, f)
	r := &Report{
		Scenario: s.Name, Summary: s.Summary, Cause: s.Cause, Topology: topology, Seed: s.Seed,
		Calls: f.Calls, Elapsed: round(rec.Elapsed),
		Codes: f.Codes, Reasons: f.Reasons, Phases: f.Phases,
		Latency:     Latency{P50: f.P50, P90: f.P90, P99: f.P99, Max: f.Max},
		HandlerRuns: rec.HandlerRuns,
		Faults:      rec.Faults,
		Checks:      checks(s, rec, f, explainErr),
		Figures:     f,
		Explanation: text,
		Outcomes:    rec.Outcomes,

		Measurements: rec.Measurements,
		Diagnoses:    diagnoses,
	}
	switch {
	case rec.HandlerUncounted && topology == TopologyExternal:
		if r.Calls > 0 {
			r.Notes = append(r.Notes, NoteHandlerUnseen)
		}
	case rec.HandlerUncounted:
		r.Notes = append(r.Notes, NoteHandlerUncounted)
	}
	r.Rows, r.TopDenial = rows(rec.Outcomes)
	res := rec.Result
	if res == nil && len(rec.Measurements) > 0 {
		// A scenario of measurements alone made no load: its result holds
		// no calls, its findings and its checks, so -o writes it as any other.
		now := time.Now()
		res = reports.NewRecorder(reports.Run{Name: s.Name, Target: topology, Mode: reports.ClosedLoop, Connections: 1,
			Seed: s.Seed, Start: rec.Start, End: now}).Finish()
	}
	r.Result = withExpectations(res, r.Checks)
	if r.Result != nil {
		for _, d := range diagnoses {
			r.Result.Diagnoses = append(r.Result.Diagnoses, reports.Diagnosis{Cause: d.Cause, Known: d.Known, Calls: int64(d.Calls), Summary: d.Summary, Fix: d.Fix})
		}
		r.Result.Findings = measurementLines(rec.Measurements)
	}
	return r
}

// withExpectations returns a copy of res whose expectations are checks, so
// the JUnit renderer shows each check as a test case; nil for a nil res.
func withExpectations(res *reports.Result, checks []Check) *reports.Result {
	if res == nil {
		return nil
	}
	out := *res
	out.Expectations = make([]reports.Expectation, len(checks))
	for i, c := range checks {
		out.Expectations[i] = reports.Expectation{Name: c.Name, Want: c.Want, Got: c.Got, Pass: c.Pass}
	}
	return &out
}

// rows groups outcomes by code, reason and phase, most frequent first (then
// by name, so reruns print alike), and picks the most frequent failure.
func rows(outcomes []Outcome) ([]Row, *Denial) {
	type key struct {
		code   codes.Code
		reason reason.Reason
		phase  string
	}
	groups := map[key][]Outcome{}
	for _, o := range outcomes {
		k := key{o.Code, o.Reason, o.Phase}
		groups[k] = append(groups[k], o)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(len(groups[b]), len(groups[a])), cmp.Compare(a.code, b.code),
			cmp.Compare(a.reason, b.reason), cmp.Compare(a.phase, b.phase))
	})
	var out []Row
	var top *Denial
	for _, k := range keys {
		g := groups[k]
		lat := make([]time.Duration, len(g))
		for i, o := range g {
			lat[i] = o.Latency
		}
		out = append(out, Row{Code: reason.CodeName(k.code), Reason: string(k.reason), Phase: k.phase,
			Count: len(g), Share: percent(len(g), len(outcomes)), P50: percentile(lat, 50)})
		if top == nil && k.code != codes.OK {
			first := g[0]
			top = &Denial{Code: reason.CodeName(k.code), Reason: string(k.reason), Phase: k.phase, Count: len(g),
				Message: first.Message, Metadata: first.Metadata}
			if info, ok := reason.Lookup(k.reason); ok {
				top.Fix = info.Fix
			}
		}
	}
	return out, top
}
