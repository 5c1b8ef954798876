package load_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// runAsync runs g and returns a channel that yields its result.
func runAsync(t *testing.T, g *load.Generator) (<-chan *reports.Result, <-chan struct{}) {
	t.Helper()
	out := make(chan *reports.Result, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := g.Run(t.Context())
		assert.NoError(t, err)
		out <- res
	}()
	return out, done
}

// drive advances fc by step each time the generator waits on a timer and
// settled holds (the calls due so far have finished), until done.
func drive(t *testing.T, fc *clockwork.FakeClock, step time.Duration, done <-chan struct{}, settled func() bool) {
	t.Helper()
	for {
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			select {
			case <-done:
			case <-ctx.Done():
			}
			cancel()
		}()
		err := fc.BlockUntilContext(ctx, 1)
		cancel()
		if err != nil {
			return
		}
		require.Eventually(t, settled, 5*time.Second, 100*time.Microsecond)
		fc.Advance(step)
	}
}

func newGen(t *testing.T, o load.Options) *load.Generator {
	t.Helper()
	g, err := load.New(o)
	require.NoError(t, err)
	return g
}

// TestOpenLoopSchedule checks that calls go out exactly when the pacer
// says, and that the warm-up's calls are counted apart.
func TestOpenLoopSchedule(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	var mu sync.Mutex
	var at []time.Duration
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(context.Context) error {
			mu.Lock()
			at = append(at, fc.Since(t0))
			mu.Unlock()
			return nil
		}),
		Pacer:    load.ConstantPacer{Rate: load.Rate{Freq: 100, Per: time.Second}},
		Duration: time.Second,
		WarmUp:   200 * time.Millisecond,
		Clock:    fc,
	})
	results, done := runAsync(t, g)
	// Calls run on their own goroutines: the clock moves on only once the calls due so far have been made.
	drive(t, fc, 10*time.Millisecond, done, func() bool {
		return g.Stats().Done == int64(fc.Since(t0)/(10*time.Millisecond))+1
	})
	res := <-results

	assert.Equal(t, reports.OpenLoop, res.Run.Mode)
	assert.EqualValues(t, 100, res.Calls, "1s at 100/s after the warm-up")
	assert.EqualValues(t, 20, res.Run.WarmUpCalls, "200ms at 100/s")
	assert.Equal(t, t0.Add(200*time.Millisecond), res.Run.Start)
	assert.Equal(t, reports.Duration(200*time.Millisecond), res.Run.WarmUp)
	require.Len(t, at, 120)
	for i, d := range at {
		assert.Equal(t, time.Duration(i)*10*time.Millisecond, d, "call %d", i)
	}
	assert.Zero(t, res.Latency.Max(), "no fake time passed during any call")
}

// TestOpenLoopBehindSchedule checks that a call that cannot start on time
// (the in-flight cap is reached while the server is slow) is measured from
// when it was due, not from when it could be sent.
func TestOpenLoopBehindSchedule(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	entered, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int64
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(context.Context) error {
			if n.Add(1) == 1 {
				close(entered)
				<-release // the first call stalls until the test lets it go
			}
			return nil
		}),
		Pacer:       load.ConstantPacer{Rate: load.Rate{Freq: 100, Per: time.Second}},
		Calls:       5,
		MaxInFlight: 1,
		Clock:       fc,
	})
	results, _ := runAsync(t, g)
	<-entered                                                // call 0, due at 0, is in flight
	require.NoError(t, fc.BlockUntilContext(t.Context(), 1)) // the pacer waits for call 1, due at 10ms
	fc.Advance(10 * time.Millisecond)
	fc.Advance(40 * time.Millisecond) // call 1 is due but the only worker is busy
	close(release)                    // at 50ms: call 0 ends, calls 1..4 (due 10..40ms) go out at once
	res := <-results

	assert.EqualValues(t, 5, res.Calls)
	ms := func(n int) float64 { return float64(time.Duration(n) * time.Millisecond) }
	tolerance := float64(100 * time.Microsecond) // the histogram keeps 3 significant digits
	assert.InDelta(t, ms(50), float64(res.Latency.Max()), tolerance, "call 0: due at 0, done at 50ms")
	assert.InDelta(t, ms(10), float64(res.Latency.Min()), tolerance, "call 4: due at 40ms, done at 50ms")
	assert.InDelta(t, ms(30), float64(res.Latency.Mean()), tolerance, "50, 40, 30, 20 and 10ms")
}

// TestClosedLoopCallsAndWarmUp checks the call count and the warm-up of a closed loop.
func TestClosedLoopCallsAndWarmUp(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	g := newGen(t, load.Options{
		// Each call takes 1ms of fake time.
		Target:      load.TargetFunc(func(context.Context) error { fc.Advance(time.Millisecond); return nil }),
		Concurrency: 1,
		Calls:       20,
		WarmUp:      10 * time.Millisecond,
		Clock:       fc,
	})
	res, err := g.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, reports.ClosedLoop, res.Run.Mode)
	assert.Equal(t, 1, res.Run.Concurrency)
	assert.EqualValues(t, 20, res.Calls)
	assert.EqualValues(t, 10, res.Run.WarmUpCalls)
	assert.InDelta(t, float64(time.Millisecond), float64(res.Latency.Percentile(50)), float64(10*time.Microsecond))
}

func TestClosedLoopCallsExact(t *testing.T) {
	var made atomic.Int64
	g := newGen(t, load.Options{
		Target:      load.TargetFunc(func(context.Context) error { made.Add(1); return nil }),
		Concurrency: 8,
		Calls:       1000,
	})
	res, err := g.Run(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 1000, res.Calls)
	assert.EqualValues(t, 1000, made.Load(), "not one call more than asked")
	assert.Equal(t, map[string]int64{"OK": 1000}, res.Codes)
}

// TestOutcomes checks that codes and JIT reasons are recorded, including
// credentials that fail before the call is made.
func TestOutcomes(t *testing.T) {
	var n atomic.Int64
	target := load.TargetFunc(func(context.Context) error {
		switch n.Add(1) % 4 {
		case 1:
			return reason.New(reason.GrantExpired, "expired")
		case 2:
			return status.Error(codes.Unavailable, "gone")
		}
		return nil
	})
	creds := load.CredentialsFunc(func(_ context.Context, worker int) ([]string, error) {
		if n.Load() >= 8 {
			return nil, errors.New("broker down") // a plain error: the source could not be reached
		}
		return nil, nil
	})
	g := newGen(t, load.Options{Target: target, Credentials: creds, Concurrency: 1, Calls: 10})
	res, err := g.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"OK": 4, "PERMISSION_DENIED": 2, "UNAVAILABLE": 4}, res.Codes)
	assert.Equal(t, []reports.ReasonCount{
		{Code: "PERMISSION_DENIED", Reason: "GRANT_EXPIRED", Calls: 2},
		{Code: "UNAVAILABLE", Reason: "BROKER_UNAVAILABLE", Calls: 2},
	}, res.Reasons)
}

func TestMetadataReachesTarget(t *testing.T) {
	var got metadata.MD
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(ctx context.Context) error {
			got, _ = metadata.FromOutgoingContext(ctx)
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no deadline")
			}
			return nil
		}),
		Header: metadata.Pairs("x-run", "7"),
		Credentials: load.CredentialsFunc(func(_ context.Context, worker int) ([]string, error) {
			return []string{"authorization", "Bearer id", "x-jit-grant", "g"}, nil
		}),
		Concurrency: 1, Calls: 1,
	})
	res, err := g.Run(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Codes["OK"])
	assert.Equal(t, []string{"7"}, got.Get("x-run"))
	assert.Equal(t, []string{"Bearer id"}, got.Get("authorization"))
	assert.Equal(t, []string{"g"}, got.Get("x-jit-grant"))
}

func TestDeadlineBoundsEachCall(t *testing.T) {
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(ctx context.Context) error {
			<-ctx.Done()
			return status.FromContextError(ctx.Err()).Err()
		}),
		Concurrency: 2, Calls: 4, Deadline: 20 * time.Millisecond,
	})
	res, err := g.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"DEADLINE_EXCEEDED": 4}, res.Codes)
	assert.GreaterOrEqual(t, res.Latency.Min(), 19*time.Millisecond)
}

// TestCancelStopsSending checks that cancelling the run's context stops new
// calls, lets calls in flight finish unharmed, and says so.
func TestCancelStopsSending(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var n atomic.Int64
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(callCtx context.Context) error {
			if n.Add(1) == 50 {
				cancel()
				time.Sleep(20 * time.Millisecond)
				return callCtx.Err() // nil: the run's end never cancels a call
			}
			return nil
		}),
		Concurrency: 2, Duration: time.Hour,
	})
	res, err := g.Run(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, res.Calls, res.Codes["OK"], "the call in flight at the cancel ended OK")
	assert.GreaterOrEqual(t, res.Calls, int64(50))
}

func TestStats(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	release := make(chan struct{})
	var n atomic.Int64
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(context.Context) error {
			if n.Add(1) > 3 {
				<-release
				return nil
			}
			return status.Error(codes.PermissionDenied, "no")
		}),
		Concurrency: 1, Calls: 4, WarmUp: time.Second, Clock: fc,
	})
	assert.Zero(t, g.Stats().Elapsed, "not started")
	results, _ := runAsync(t, g)
	require.Eventually(t, func() bool { return g.Stats().Sent == 4 }, 5*time.Second, time.Millisecond)
	fc.Advance(500 * time.Millisecond)
	s := g.Stats()
	assert.Equal(t, 500*time.Millisecond, s.Elapsed)
	assert.True(t, s.WarmingUp)
	assert.EqualValues(t, 3, s.Done)
	assert.Equal(t, map[string]int64{"PERMISSION_DENIED": 3}, s.Codes)
	fc.Advance(time.Second) // the warm-up is over; the next call counts
	close(release)
	<-results
}

func TestNewRejects(t *testing.T) {
	ok := load.TargetFunc(func(context.Context) error { return nil })
	pacer := load.ConstantPacer{Rate: load.Rate{Freq: 1}}
	tests := []struct {
		name string
		o    load.Options
		want string
	}{
		{"no target", load.Options{Concurrency: 1, Calls: 1}, "no target"},
		{"no mode", load.Options{Target: ok, Calls: 1}, "arrival rate"},
		{"both modes", load.Options{Target: ok, Pacer: pacer, Concurrency: 2, Calls: 1}, "exclude each other"},
		{"no end", load.Options{Target: ok, Concurrency: 1}, "never end"},
		{"negative", load.Options{Target: ok, Concurrency: 1, Calls: 1, WarmUp: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load.New(tt.o)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestRunsOnce(t *testing.T) {
	g := newGen(t, load.Options{Target: load.TargetFunc(func(context.Context) error { return nil }), Concurrency: 1, Calls: 1})
	_, err := g.Run(t.Context())
	require.NoError(t, err)
	_, err = g.Run(t.Context())
	assert.ErrorContains(t, err, "runs once")
}

// TestAbortCancelsCallsInFlight: Abort ends a run whose calls would
// otherwise wait out an hour-long deadline; the calls it cut short are left
// out, and Run says why it ended.
func TestAbortCancelsCallsInFlight(t *testing.T) {
	started := make(chan struct{}, 2)
	g := newGen(t, load.Options{Target: load.TargetFunc(func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}), Concurrency: 2, Calls: 10, Deadline: time.Hour})
	ran := make(chan error, 1)
	var res *reports.Result
	go func() {
		var err error
		res, err = g.Run(t.Context())
		ran <- err
	}()
	<-started
	<-started
	stop := errors.New("stop")
	g.Abort(stop)
	g.Abort(errors.New("a second cause does not count"))
	require.ErrorIs(t, <-ran, stop)
	assert.Zero(t, res.Calls, "the calls cut short are not in the result")
	s := g.Stats()
	assert.EqualValues(t, 2, s.Abandoned)
	assert.EqualValues(t, 2, s.Sent)
	assert.Zero(t, s.Done)
}

// Abort before Run: the run ends at once, having sent nothing.
func TestAbortBeforeRun(t *testing.T) {
	g := newGen(t, load.Options{Target: load.TargetFunc(func(context.Context) error { return nil }), Concurrency: 2, Duration: time.Hour})
	g.Abort(nil)
	res, err := g.Run(t.Context())
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, res.Calls)
}
