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
	impl   fakes.Fault
	static bool

	mu      sync.Mutex
	remove  func()
	applied bool
	over    bool // removed, or its window closed before it opened
}

// newFaults builds every fault of sc from the fakes registry.
func newFaults(sc scenarios.Scenario) ([]*scheduled, error) {
	out := make([]*scheduled, 0, len(sc.Faults))
	for i, spec := range sc.Faults {
		impl, err := fakes.New(spec.Kind, fractions(spec.Params))
		if err != nil {
			return nil, fmt.Errorf("scenario %s: fault %d (%s): %w", sc.Name, i+1, spec.Kind, err)
		}
		f := &scheduled{spec: spec, impl: impl}
		if st, ok := impl.(fakes.Static); ok && st.Static() {
			if spec.Start != 0 {
				return nil, fmt.Errorf("scenario %s: fault %d (%s) shapes how the system is built: it cannot start at %v, only at 0",
					sc.Name, i+1, spec.Kind, spec.Start)
			}
			f.static = true
		}
		out = append(out, f)
	}
	return out, nil
}

// apply opens the fault's window on env.
func (f *scheduled) apply(env fakes.Env) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applied || f.over {
		return nil
	}
	remove, err := f.impl.Apply(env)
	if err != nil {
		f.over = true
		return fmt.Errorf("fault %s at %v: %w", f.spec.Kind, f.spec.Start, err)
	}
	f.applied, f.remove = true, remove
	return nil
}

// close ends the fault's window; one that never opened never will.
func (f *scheduled) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.over {
		return
	}
	f.over = true
	if f.applied && f.remove != nil {
		f.remove()
	}
}

// timeline applies the dynamic faults at their start and removes them at
// their end, in real time from the start of the run.
type timeline struct {
	env    fakes.Env
	faults []*scheduled

	mu      sync.Mutex
	timers  []*time.Timer
	running sync.WaitGroup
	stopped bool
	errs    []error
}

// startTimeline opens the windows that start at 0 before it returns, so
// the first call sees them, and schedules the rest.
func startTimeline(env fakes.Env, faults []*scheduled) *timeline {
	t := &timeline{env: env, faults: faults}
	for _, f := range faults {
		if f.spec.Start <= 0 {
			t.record(f.apply(env))
		} else {
			t.at(f.spec.Start, func() { t.record(f.apply(env)) })
		}
		if f.spec.Duration > 0 {
			t.at(f.spec.Start+f.spec.Duration, f.close)
		}
	}
	return t
}

// at runs fn after d unless the timeline stopped first; stop waits for it.
func (t *timeline) at(d time.Duration, fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
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
// removes every fault still in force, the last applied first. It returns
// the faults' errors.
func (t *timeline) stop() error {
	t.mu.Lock()
	t.stopped = true
	for _, tm := range t.timers {
		tm.Stop()
	}
	t.mu.Unlock()
	t.running.Wait()
	for i := len(t.faults) - 1; i >= 0; i-- {
		t.faults[i].close()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return errors.Join(t.errs...)
}
