package load_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/reason"
)

// TestClosedLoopInterval checks that each closed-loop worker's k-th call
// goes out k intervals after the start, and that the run ends with its
// last call rather than after one more interval.
func TestClosedLoopInterval(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	var mu sync.Mutex
	perWorker := map[int][]time.Duration{}
	g := newGen(t, load.Options{
		Target: load.CallTargetFunc(func(_ context.Context, c load.Call) error {
			mu.Lock()
			perWorker[c.Worker] = append(perWorker[c.Worker], fc.Since(t0))
			mu.Unlock()
			return nil
		}),
		Concurrency: 2, Interval: 100 * time.Millisecond, Calls: 6, Clock: fc,
	})
	results, _ := runAsync(t, g)
	for range 2 { // both workers wait for their next call; then it is due
		require.NoError(t, fc.BlockUntilContext(t.Context(), 2))
		fc.Advance(100 * time.Millisecond)
	}
	res := <-results
	assert.EqualValues(t, 6, res.Calls)
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond}
	assert.Equal(t, map[int][]time.Duration{0: want, 1: want}, perWorker)
	assert.Equal(t, t0.Add(200*time.Millisecond), res.Run.End, "no interval is spent after the last call")
}

// TestClosedLoopIntervalLateWorker checks that a worker whose call outlasts
// the interval catches up with its schedule: the calls it is late for go
// out at once, and the next one when it is due.
func TestClosedLoopIntervalLateWorker(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	var at []time.Duration
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(context.Context) error {
			at = append(at, fc.Since(t0))
			if len(at) == 1 {
				fc.Advance(250 * time.Millisecond) // the first call takes 2.5 intervals
			}
			return nil
		}),
		Concurrency: 1, Interval: 100 * time.Millisecond, Calls: 4, Clock: fc,
	})
	results, _ := runAsync(t, g)
	require.NoError(t, fc.BlockUntilContext(t.Context(), 1)) // call 3 is due at 300ms
	fc.Advance(50 * time.Millisecond)
	<-results
	assert.Equal(t, []time.Duration{0, 250 * time.Millisecond, 250 * time.Millisecond, 300 * time.Millisecond}, at)
}

// phasedTarget is a CallTarget that also times a "grant" phase of each call.
type phasedTarget struct {
	clock   *clockwork.FakeClock
	observe load.PhaseFunc
}

func (p *phasedTarget) ObservePhases(f load.PhaseFunc) { p.observe = f }

func (p *phasedTarget) Call(ctx context.Context) error { return p.CallN(ctx, load.Call{}) }

func (p *phasedTarget) CallN(_ context.Context, c load.Call) error {
	p.observe(c.Worker, "grant", p.clock.Now(), 2*time.Millisecond)
	p.clock.Advance(time.Millisecond)
	if c.Seq%3 == 0 {
		return reason.New(reason.GrantExpired, "expired")
	}
	return nil
}

// TestObserveSeesEveryCallAsRecorded checks that Observe is told of every
// call, numbered in order, with the code, reason and latency the result
// counts, and whether it fell in the warm-up; and that a target's phases
// land in the result.
func TestObserveSeesEveryCallAsRecorded(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	var seen []load.Finished
	g := newGen(t, load.Options{
		Target:      &phasedTarget{clock: fc},
		Concurrency: 1, Calls: 12, WarmUp: 3 * time.Millisecond, Clock: fc,
		Observe: func(f load.Finished) { seen = append(seen, f) },
	})
	res, err := g.Run(t.Context())
	require.NoError(t, err)

	require.Len(t, seen, 15, "3 warm-up calls of 1ms, then 12 measured")
	measured := map[codes.Code]int64{}
	for i, f := range seen {
		assert.EqualValues(t, i, f.Seq, "calls are numbered in the order they were sent")
		assert.Equal(t, 0, f.Worker)
		assert.Equal(t, t0.Add(time.Duration(i)*time.Millisecond), f.Start)
		assert.True(t, f.Intended.IsZero(), "closed loop has no intended time")
		assert.Equal(t, time.Millisecond, f.Latency)
		assert.Equal(t, i >= 3, f.Measured, "call %d", i)
		if i%3 == 0 {
			assert.Equal(t, codes.PermissionDenied, f.Code)
			assert.Equal(t, "GRANT_EXPIRED", f.Reason)
			assert.ErrorIs(t, f.Err, reason.GrantExpired)
		} else {
			assert.Equal(t, codes.OK, f.Code)
			assert.NoError(t, f.Err)
		}
		if f.Measured {
			measured[f.Code]++
		}
	}
	assert.Equal(t, map[string]int64{"OK": measured[codes.OK], "PERMISSION_DENIED": measured[codes.PermissionDenied]}, res.Codes)
	require.Contains(t, res.Phases, "grant")
	assert.EqualValues(t, 12, res.Phases["grant"].Count(), "the warm-up's phases are left out like its calls")
}

func TestNewRejectsIntervals(t *testing.T) {
	ok := load.TargetFunc(func(context.Context) error { return nil })
	_, err := load.New(load.Options{Target: ok, Pacer: load.ConstantPacer{Rate: load.Rate{Freq: 1}}, Interval: time.Second, Calls: 1})
	assert.ErrorContains(t, err, "interval paces closed-loop workers")
	_, err = load.New(load.Options{Target: ok, Concurrency: 1, Interval: -time.Second, Calls: 1})
	assert.ErrorContains(t, err, "negative")
}
