package harness

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/scenarios"
)

// scheduled is one fault of a scenario and where it is on the timeline.
type scheduled struct {
	spec   scenarios.Fault
	index  int // its place in the scenario's faults; -1 for a test's extra fault
	impl   fakes.Fault
	static bool

	mu      sync.Mutex
	remove  func()
	applied bool
	over    bool          // removed, or its window closed before it opened
	at      time.Duration // when it was applied, from the start of the load
	until   time.Duration // when its window closed; 0 while open or closed by the end of the run

	emu      sync.Mutex
	measures []func() fakes.Effect // what it said to measure, from Env.Effect
}

// newFaults builds every fault of sc from the fakes registry.
func newFaults(sc scenarios.Scenario) ([]*scheduled, error) {
	out := make([]*scheduled, 0, len(sc.Faults))
	for i, spec := range sc.Faults {
		impl, err := fakes.New(spec.Kind, fractions(spec.Params))
		if err != nil {
			return nil, fmt.Errorf("scenario %s: fault %d (%s): %w", sc.Name, i+1, spec.Kind, err)
		}
		f := &scheduled{spec: spec, index: i, impl: impl}
		if st, ok := impl.(fakes.Static); ok && st.Static() {
			if spec.Start != 0 || spec.AfterCalls != 0 {
				return nil, fmt.Errorf("scenario %s: fault %d (%s) shapes how the system is built: it cannot start later, only at 0",
					sc.Name, i+1, spec.Kind)
			}
			f.static = true
		}
		out = append(out, f)
	}
	return out, nil
}

// faultView is the Env as one fault sees it: what it asks to measure is
// kept with the fault, so the run can say what each fault did.
type faultView struct {
	fakes.Env
	f *scheduled
}

// Effect implements fakes.Env.
func (v faultView) Effect(measure func() fakes.Effect) {
	v.f.emu.Lock()
	v.f.measures = append(v.f.measures, measure)
	v.f.emu.Unlock()
}

// apply opens the fault's window on env; at is when, from the start of the
// load. Its error names the fault and when it opened.
func (f *scheduled) apply(env fakes.Env, at time.Duration) error {
	if err := f.applyNow(env, at); err != nil {
		return fmt.Errorf("fault %s%s: %w", f.spec.Kind, f.when(), err)
	}
	return nil
}

// applyNow is apply with the fault's own error.
func (f *scheduled) applyNow(env fakes.Env, at time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applied || f.over {
		return nil
	}
	remove, err := f.impl.Apply(faultView{Env: env, f: f})
	if err != nil {
		f.over = true
		return err
	}
	f.applied, f.remove, f.at = true, remove, at
	return nil
}

// when words where the fault's window opens, for errors: " at 300ms", " after 4 calls".
func (f *scheduled) when() string {
	if f.spec.AfterCalls > 0 {
		return fmt.Sprintf(" after %d calls", f.spec.AfterCalls)
	}
	return " at " + f.spec.Start.String()
}

// close ends the fault's window at until (0: the end of the run); one that
// never opened never will.
func (f *scheduled) close(until time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.over {
		return
	}
	f.over = true
	if f.applied {
		f.until = until
		if f.remove != nil {
			f.remove()
		}
	}
}

// run reports what the fault did: when its window was open and what it
// changed, measured now (after the run).
func (f *scheduled) run() FaultRun {
	f.mu.Lock()
	r := FaultRun{Index: f.index, Kind: f.spec.Kind, Line: f.spec.Line, Applied: f.applied, At: f.at, Until: f.until}
	f.mu.Unlock()
	f.emu.Lock()
	measures := f.measures
	f.emu.Unlock()
	for i, m := range measures {
		e := m()
		if i > 0 {
			r.Effect += "; "
		}
		r.Effect += e.What
		r.Met += e.Met
	}
	return r
}

// timeline applies the dynamic faults when their window opens (at a time,
// or once a number of calls have finished) and removes them when it
// closes, in real time from the start of the load.
type timeline struct {
	env    fakes.Env
	faults []*scheduled
	start  time.Time

	mu      sync.Mutex
	timers  []*time.Timer
	running sync.WaitGroup
	stopped bool
	errs    []error
}

// startTimeline opens the windows that start at 0 before it returns, so
// the first call sees them, and schedules the ones that open at a later
// time; finished opens those that wait for calls. start is the start of
// the load, which fault times count from.
func startTimeline(env fakes.Env, faults []*scheduled, start time.Time) *timeline {
	t := &timeline{env: env, faults: faults, start: start}
	for _, f := range faults {
		switch {
		case f.spec.AfterCalls > 0:
			continue // opened by finished
		case f.spec.Start <= 0:
			t.record(f.apply(env, 0))
		default:
			t.at(f.spec.Start, func() { t.record(f.apply(env, t.since())) })
		}
		if f.spec.Duration > 0 {
			t.at(f.spec.Start+f.spec.Duration, func() { f.close(t.since()) })
		}
	}
	return t
}

// since is the time from the start of the load.
func (t *timeline) since() time.Duration { return time.Since(t.start) }

// finished is told that n calls have finished: the windows that wait for n
// calls open now, before the caller that finished the n-th makes its next
// call, and their duration counts from now.
func (t *timeline) finished(n int) {
	for _, f := range t.faults {
		if f.spec.AfterCalls != n {
			continue
		}
		t.mu.Lock()
		stopped := t.stopped
		t.mu.Unlock()
		if stopped {
			return
		}
		t.record(f.apply(t.env, t.since()))
		if f.spec.Duration > 0 {
			t.at(f.spec.Duration, func() { f.close(t.since()) })
		}
	}
}

// at runs fn after d unless the timeline stopped first; stop waits for it.
func (t *timeline) at(d time.Duration, fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.timers = append(t.timers, time.AfterFunc(d, func() {
		t.mu.Lock()
		if t.stopped {
			t.mu.Unlock()
			return
		}
		t.running.Add(1)
		t.mu.Unlock()
		defer t.running.Done()
		fn()
	}))
}

func (t *timeline) record(err error) {
	if err == nil {
		return
	}
	t.mu.Lock()
	t.errs = append(t.errs, err)
	t.mu.Unlock()
}

// stop cancels what has not happened yet, waits for what is happening, and
// removes every fault still in force (each takes off only its own layer,
// so the order does not matter; the last applied goes first all the same).
// It returns the faults' errors.
func (t *timeline) stop() error {
	t.mu.Lock()
	t.stopped = true
	for _, tm := range t.timers {
		tm.Stop()
	}
	t.mu.Unlock()
	t.running.Wait()
	for i := len(t.faults) - 1; i >= 0; i-- {
		t.faults[i].close(0)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return errors.Join(t.errs...)
}
