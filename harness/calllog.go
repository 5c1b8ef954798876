package harness

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jitbench/jitbench/harness/load"
)

// callLog is the load generator's target for a scenario: it makes each
// call through the scenario's caller and keeps the call's whole outcome,
// which explanations and expectations need beyond the result's histograms.
type callLog struct {
	caller *caller
	start  time.Time // the run's start: outcomes' At counts from it
	phase  load.PhaseFunc

	// afterCall, when set, is told how many calls have finished each time
	// one does, before its caller makes the next (the timeline opens the
	// windows that wait for calls).
	afterCall func(n int)

	mu       sync.Mutex
	pending  map[uint64]Outcome // made, not yet recorded by the generator
	done     []Outcome
	finishes int // calls finished, warm-up included
}

var (
	_ load.CallTarget    = (*callLog)(nil)
	_ load.PhaseObserver = (*callLog)(nil)
)

func newCallLog(c *caller, start time.Time) *callLog {
	return &callLog{caller: c, start: start, pending: map[uint64]Outcome{}}
}

// Call implements load.Target: a call made outside the generator is not logged.
func (l *callLog) Call(ctx context.Context) error { return l.caller.do(ctx).statusErr() }

// CallN implements load.CallTarget: it makes call c and returns its final
// status, which the generator counts under the outcome's code and reason.
func (l *callLog) CallN(ctx context.Context, c load.Call) error {
	out := l.caller.do(ctx)
	if out.GrantFetched && l.phase != nil {
		l.phase(c.Worker, PhaseGrant, c.Start, out.GrantWait)
	}
	l.mu.Lock()
	l.pending[c.Seq] = out
	l.mu.Unlock()
	return out.statusErr()
}

// ObservePhases implements load.PhaseObserver: the time a call spent
// obtaining its grant goes into the result as phase "grant".
func (l *callLog) ObservePhases(f load.PhaseFunc) { l.phase = f }

// finished is the generator's Observe hook: the call's outcome takes the
// number, start and latency the result recorded, so outcomes and
// histograms agree. Warm-up calls are left out, as the result leaves them.
// The generator calls it on the caller's goroutine, so afterCall acts
// before that caller's next call.
func (l *callLog) finished(f load.Finished) {
	l.mu.Lock()
	l.finishes++
	n := l.finishes
	out := l.pending[f.Seq]
	delete(l.pending, f.Seq)
	if f.Measured {
		out.Index, out.At, out.Latency = int(f.Seq), f.Start.Sub(l.start), f.Latency
		l.done = append(l.done, out)
	}
	l.mu.Unlock()
	if l.afterCall != nil {
		l.afterCall(n)
	}
}

// outcomes returns the recorded outcomes in call order.
func (l *callLog) outcomes() []Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.done)
	slices.SortFunc(out, func(a, b Outcome) int { return cmp.Compare(a.Index, b.Index) })
	return out
}
