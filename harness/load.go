package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/harness/measure"
	"github.com/jitbench/jitbench/reports"
)

// callBackstop is the load generator's deadline for a scenario call. The
// caller bounds each attempt with the scenario's own deadline (the client
// knobs may change it mid-run, and retries may extend it), so this only
// ends a call that nothing else would.
const callBackstop = 10 * time.Minute

// Record is what one run of a scenario's load measured, before any expectation is checked.
type Record struct {
	// Outcomes holds every call, in call order.
	Outcomes []Outcome
	// Result is the same calls as the load generator recorded them: HDR
	// histograms per code and per reason, and a per-second timeline. It is
	// nil for a record not made by Env.Run.
	Result *reports.Result
	// HandlerRuns counts how often the Vault's handlers ran during the run.
	HandlerRuns int64
	// HandlerUncounted says the handler's runs could not be counted (the
	// Vault runs in a container): HandlerRuns is 0 and the handler check is
	// left out, with a note saying so.
	HandlerUncounted bool
	// Elapsed is the run's wall time, from the first call to the last outcome.
	Elapsed time.Duration
	// ApprovalLatencies are the broker's approval decisions' latencies (request to decision), from its audit log.
	ApprovalLatencies []time.Duration
	// Denials counts the broker's denial decisions.
	Denials int
	// Faults say what each of the scenario's faults did, in the scenario's order.
	Faults []FaultRun
	// Measurements are what the scenario's measurements of a user's service found, in its order.
	Measurements []measure.Result
	// Start is when the load started: an outcome was sent at Start + its At.
	Start time.Time
}

// FaultRun is what one of the scenario's faults did in a run: when its
// window was open and what it changed in the system, and how often the
// system met the change. The run checks that every fault acted.
type FaultRun struct {
	// Index is the fault's place among the scenario's faults, from 0; Kind
	// is its kind; Line its line in the scenario file (0 for one built in Go).
	Index int    `json:"index"`
	Kind  string `json:"kind"`
	Line  int    `json:"line,omitempty"`
	// Applied says its window opened; At is when, from the start of the load.
	Applied bool          `json:"applied"`
	At      time.Duration `json:"at"`
	// Until is when its window closed, from the start of the load; 0 when it stayed open to the end.
	Until time.Duration `json:"until,omitempty"`
	// Effect says what the fault changed; Met counts how often the system
	// met the change (calls made under it, clock reads, link writes, requests
	// decided, grants revoked); 0 means it never acted.
	Effect string `json:"effect,omitempty"`
	Met    int64  `json:"met"`
}

// Run drives the scenario's load against the Env through the load
// generator, with its faults on the timeline. Without a rate it is a closed
// loop: Concurrency callers, each one's k-th call due k·Interval after the
// start (back to back without an interval). With a rate it is an open loop
// at that arrival rate. Calls or Duration, whichever comes first, ends it.
// Fault windows open and close in real time from the first call. The
// returned error is a fault that could not be applied or removed, or ctx's
// when it ended the run early. An Env runs once: its faults' windows are
// spent afterwards.
func (e *Env) Run(ctx context.Context) (*Record, error) {
	if e.caller == nil {
		return nil, fmt.Errorf("scenario %s: the Env is not started", e.sc.Name)
	}
	if e.ran {
		return nil, fmt.Errorf("scenario %s: an Env runs its scenario once; Start another", e.sc.Name)
	}
	e.ran = true
	measuring := time.Now()
	measured, err := e.measureTarget(ctx)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", e.sc.Name, err)
	}
	if e.sc.Load.Calls <= 0 && e.sc.Load.Duration <= 0 {
		// A measurement scenario without a load: its probes were its calls.
		return &Record{Measurements: measured, HandlerUncounted: true, Start: measuring, Elapsed: time.Since(measuring)}, ctx.Err()
	}
	before, counted := e.sys.handlerRuns()

	start := time.Now()
	target := newCallLog(e.caller, start)
	opts, err := e.loadOptions(target)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", e.sc.Name, err)
	}
	gen, err := load.New(opts)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", e.sc.Name, err)
	}
	tl := startTimeline(e.acts, e.faults, start)
	target.afterCall = tl.finished
	res, _ := gen.Run(ctx) // its only error is ctx's, returned below
	elapsed := time.Since(start)
	faultErr := errors.Join(tl.stop(), e.takeReported())
	rec := &Record{Outcomes: target.outcomes(), Result: res, Elapsed: elapsed, HandlerUncounted: !counted, Faults: e.faultRuns(),
		Measurements: measured, Start: start}
	if x, ok := e.sys.(*externalSystem); ok {
		x.diagnose(rec)
	}
	if after, _ := e.sys.handlerRuns(); counted {
		rec.HandlerRuns = after - before
	}
	if err := e.sys.decisions(ctx, rec); err != nil {
		faultErr = errors.Join(faultErr, fmt.Errorf("read the broker's decisions: %w", err))
	}
	if faultErr != nil {
		return rec, fmt.Errorf("scenario %s: %w", e.sc.Name, faultErr)
	}
	return rec, ctx.Err()
}

// loadOptions turns the scenario's load section into generator options
// that make every call through target.
func (e *Env) loadOptions(target *callLog) (load.Options, error) {
	l := e.sc.Load
	o := load.Options{
		Target:   target,
		Observe:  target.finished,
		Calls:    uint64(max(l.Calls, 0)),
		Duration: l.Duration,
		Deadline: callBackstop,
		Run: reports.Run{Name: e.sc.Name, Target: e.topo, Method: e.sc.Client.Method,
			Connections: 1, Seed: e.sc.Seed},
	}
	if l.Rate == "" {
		o.Concurrency, o.Interval = max(l.Concurrency, 1), l.Interval
		return o, nil
	}
	rate, err := load.ParseRate(l.Rate)
	if err != nil {
		return o, fmt.Errorf("load.rate: %w", err)
	}
	o.Pacer, o.Run.Rate = load.ConstantPacer{Rate: rate}, rate.PerSecond()
	return o, nil
}

// parseRate reads a scenario's load.rate as the load generator does, for the loader.
func parseRate(s string) (float64, error) {
	r, err := load.ParseRate(s)
	if err != nil {
		return 0, err
	}
	return r.PerSecond(), nil
}
