package load_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reports"
)

// gate is a server handler's switch: open, calls pass; shut, they wait
// until it opens. The test controls it.
type gate struct {
	mu    sync.Mutex
	ch    chan struct{}
	delay time.Duration
}

func newGate() *gate {
	ch := make(chan struct{})
	close(ch)
	return &gate{ch: ch}
}

func (g *gate) shut() {
	g.mu.Lock()
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) open() {
	g.mu.Lock()
	close(g.ch)
	g.mu.Unlock()
}

func (g *gate) pass(ctx context.Context) error {
	g.mu.Lock()
	ch, delay := g.ch, g.delay
	g.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	return nil
}

// stallMethod is the test service's one method.
const stallMethod = "/test.Stall/Call"

// startStallServer serves test.Stall/Call on loopback: it answers at once
// while g is open and holds every call while it is shut.
func startStallServer(t *testing.T, g *gate) []*grpc.ClientConn {
	t.Helper()
	desc := grpc.ServiceDesc{
		ServiceName: "test.Stall",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Call",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				if err := dec(new(emptypb.Empty)); err != nil {
					return nil, err
				}
				return new(emptypb.Empty), g.pass(ctx)
			},
		}},
	}
	srv := grpc.NewServer()
	srv.RegisterService(&desc, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conns, err := load.Dial(t.Context(), lis.Addr().String(), load.DialOptions{Connections: 2})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return conns
}

func stallTarget(t *testing.T, g *gate) load.Target {
	t.Helper()
	m, err := load.NewMethod(startStallServer(t, g), stallMethod, nil, false)
	require.NoError(t, err)
	return m
}

// TestStallShowsInOpenLoopOnly freezes the server for 600ms, from the
// moment a given call starts (an event, not a time, so the freeze falls in
// the run however loaded the machine is). Open loop measures each call
// from when it was due, so every call due during the freeze counts its wait
// and p99 shows the freeze. Closed loop only had its two workers' calls
// stuck, so the freeze hides beyond p99 and shows only in the maximum
// (coordinated omission). Both runs have a fixed number of calls, so every
// assertion is made on every run.
func TestStallShowsInOpenLoopOnly(t *testing.T) {
	const stall = 600 * time.Millisecond
	// run freezes the server when call number freezeAt starts, for stall,
	// and returns how many calls were in flight when it thawed.
	run := func(t *testing.T, o load.Options, freezeAt int64) (res *reports.Result, stuck int64) {
		g := newGate()
		target := stallTarget(t, g)
		var started, inFlight, stuckAtThaw atomic.Int64
		thawed := make(chan struct{})
		o.Target = load.TargetFunc(func(ctx context.Context) error {
			if started.Add(1) == freezeAt {
				g.shut()
				time.AfterFunc(stall, func() {
					stuckAtThaw.Store(inFlight.Load())
					g.open()
					close(thawed)
				})
			}
			inFlight.Add(1)
			defer inFlight.Add(-1)
			return target.Call(ctx)
		})
		res, err := newGen(t, o).Run(t.Context())
		require.NoError(t, err)
		<-thawed // the run ends after the thaw: its stuck calls had to finish
		require.Equal(t, res.Calls, res.Codes["OK"], "every call ends OK")
		return res, stuckAtThaw.Load()
	}

	// 300 calls due 5ms apart; the freeze starts with call 80 (due at 400ms).
	open, queued := run(t, load.Options{Pacer: load.ConstantPacer{Rate: load.Rate{Freq: 200, Per: time.Second}}, Calls: 300}, 80)
	// 400 calls from 2 workers; the freeze starts with call 100.
	closed, stuck := run(t, load.Options{Concurrency: 2, Calls: 400}, 100)
	t.Logf("open loop:   %d calls (%d waiting at the thaw), p50 %s, p90 %s, p99 %s, max %s", open.Calls, queued,
		open.Latency.Percentile(50), open.Latency.Percentile(90), open.Latency.Percentile(99), open.Latency.Max())
	t.Logf("closed loop: %d calls (%d waiting at the thaw), p50 %s, p99 %s, max %s", closed.Calls, stuck,
		closed.Latency.Percentile(50), closed.Latency.Percentile(99), closed.Latency.Max())

	// Every call due from call 80's time (400ms) to the thaw (at least
	// 600ms later) waited until the thaw, measured from when it was due:
	// those due in the first quarter of the freeze (30 calls, 10%) waited
	// at least 450ms, those due in its first three quarters (30%) 150ms.
	assert.EqualValues(t, 300, open.Calls)
	assert.GreaterOrEqual(t, queued, int64(100), "open loop: calls kept going out during the freeze")
	assert.GreaterOrEqual(t, open.Latency.Percentile(99), stall*3/4, "open loop: the stall is in p99")
	assert.GreaterOrEqual(t, open.Latency.Percentile(90), stall/4, "open loop: 40% of the calls were due during the stall")

	// A closed loop's two workers each had one call stuck: 2 of 400 calls,
	// 0.5%, so p99 is a call the freeze did not touch.
	assert.EqualValues(t, 400, closed.Calls)
	assert.EqualValues(t, 2, stuck, "closed loop: only the calls of its 2 workers saw the stall")
	assert.GreaterOrEqual(t, closed.Latency.Max(), stall, "closed loop: its maximum shows the stall")
	assert.Less(t, closed.Latency.Percentile(99), stall, "closed loop: the stall hides beyond p99")
}

// TestDrainCountsCallsInFlight ends runs while every call is still in the
// server: they finish within their deadline and count as OK, never as
// errors because the run ended.
func TestDrainCountsCallsInFlight(t *testing.T) {
	tests := []struct {
		name string
		o    load.Options
	}{
		{"open loop", load.Options{Pacer: load.ConstantPacer{Rate: load.Rate{Freq: 100, Per: time.Second}}, Duration: 200 * time.Millisecond}},
		{"closed loop", load.Options{Concurrency: 4, Duration: 100 * time.Millisecond}},
		{"closed loop, call count", load.Options{Concurrency: 4, Calls: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			g.delay = 300 * time.Millisecond // longer than the run
			tt.o.Target = stallTarget(t, g)
			tt.o.Deadline = 5 * time.Second
			res, err := newGen(t, tt.o).Run(t.Context())
			require.NoError(t, err)
			assert.Positive(t, res.Calls)
			assert.Equal(t, map[string]int64{"OK": res.Calls}, res.Codes, "no call in flight at the end became an error")
			assert.GreaterOrEqual(t, res.Latency.Min(), 290*time.Millisecond, "each call waited for its answer")
			assert.GreaterOrEqual(t, time.Duration(res.Run.Duration), 300*time.Millisecond, "the window ends with the last answer")
		})
	}
}

// TestOpenLoopBoundsGoroutines checks that a stalled server cannot make an
// open loop start more than MaxInFlight calls, and that the calls kept
// waiting still count their wait from their due time.
func TestOpenLoopBoundsGoroutines(t *testing.T) {
	g := newGate()
	g.shut()
	target := stallTarget(t, g)
	var mu sync.Mutex
	inFlight, peak := 0, 0
	counting := load.TargetFunc(func(ctx context.Context) error {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		return target.Call(ctx)
	})
	gen := newGen(t, load.Options{
		Target: counting, Pacer: load.ConstantPacer{Rate: load.Rate{Freq: 1000, Per: time.Second}},
		Duration: 300 * time.Millisecond, MaxInFlight: 5,
	})
	time.AfterFunc(300*time.Millisecond, g.open)
	res, err := gen.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 5, peak)
	assert.InDelta(t, 300, res.Calls, 2, "every due call was made, late")
	assert.GreaterOrEqual(t, res.Latency.Percentile(50), 100*time.Millisecond, "late calls count their wait")
}
