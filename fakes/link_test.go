package fakes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// pair is a link-wrapped client end and the raw server end of one bufconn connection.
type pair struct {
	link   *Link
	clock  *clockwork.FakeClock
	client net.Conn
	server net.Conn
}

func newPair(t *testing.T, seed int64) *pair {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	link := NewLink("client-service", seed, WithLinkClock(clock))
	lis := bufconn.Listen(1 << 20)
	t.Cleanup(func() { _ = lis.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := lis.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	dial := link.Dialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	client, err := dial(t.Context(), "bufnet")
	require.NoError(t, err)
	server := <-accepted
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return &pair{link: link, clock: clock, client: client, server: server}
}

func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	buf := make([]byte, n)
	_, err := io.ReadFull(c, buf)
	require.NoError(t, err)
	return string(buf)
}

// readAsync reads n bytes from c in the background.
func readAsync(c net.Conn, n int) <-chan string {
	out := make(chan string, 1)
	go func() {
		buf := make([]byte, n)
		if _, err := io.ReadFull(c, buf); err != nil {
			out <- "error: " + err.Error()
			return
		}
		out <- string(buf)
	}()
	return out
}

func lc(t *testing.T, c net.Conn) *linkConn {
	t.Helper()
	x, ok := c.(*linkConn)
	require.True(t, ok)
	return x
}

func TestLinkPassThrough(t *testing.T) {
	p := newPair(t, 1)
	_, err := p.client.Write([]byte("ping"))
	require.NoError(t, err)
	assert.Equal(t, "ping", readN(t, p.server, 4))
	_, err = p.server.Write([]byte("pong"))
	require.NoError(t, err)
	assert.Equal(t, "pong", readN(t, p.client, 4))
	assert.Equal(t, 1, p.link.Conns())
	assert.Equal(t, "client-service", p.link.Name())
}

func TestLinkLatencyBothDirections(t *testing.T) {
	p := newPair(t, 1)
	defer p.link.Set(LinkSettings{Latency: 100 * time.Millisecond})()

	// Outgoing: the write returns at once, the bytes leave after the latency.
	got := readAsync(p.server, 4)
	_, err := p.client.Write([]byte("ping"))
	require.NoError(t, err)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1)) // deliver waits on its timer
	p.clock.Advance(99 * time.Millisecond)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1)) // still waiting
	select {
	case s := <-got:
		t.Fatalf("delivered %q before the latency passed", s)
	default:
	}
	p.clock.Advance(time.Millisecond)
	assert.Equal(t, "ping", <-got)

	// Incoming: the bytes are read at once but handed out after the latency.
	got = readAsync(p.client, 4)
	_, err = p.server.Write([]byte("pong"))
	require.NoError(t, err)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1)) // Read waits on its timer
	p.clock.Advance(100 * time.Millisecond)
	assert.Equal(t, "pong", <-got)
}

func TestLinkJitterKeepsOrder(t *testing.T) {
	p := newPair(t, 7)
	defer p.link.Set(LinkSettings{Latency: 50 * time.Millisecond, Jitter: 40 * time.Millisecond})()
	var want strings.Builder
	for i := range 50 {
		msg := fmt.Sprintf("%02d", i)
		want.WriteString(msg)
		_, err := p.client.Write([]byte(msg))
		require.NoError(t, err)
	}
	got := readAsync(p.server, want.Len())
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1))
	p.clock.Advance(time.Second)
	assert.Equal(t, want.String(), <-got)
}

func TestLinkScheduleIsSeededAndShaped(t *testing.T) {
	dues := func(seed int64, s LinkSettings, sizes ...int) []time.Duration {
		l := NewLink("x", seed)
		defer l.Set(s)()
		var d direction
		var out []time.Duration
		for _, n := range sizes {
			due, ok := l.schedule(&d, n, t0)
			require.True(t, ok)
			out = append(out, due.Sub(t0))
		}
		return out
	}
	jitter := LinkSettings{Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond}
	a := dues(42, jitter, 1, 1, 1, 1, 1, 1, 1, 1)
	assert.Equal(t, a, dues(42, jitter, 1, 1, 1, 1, 1, 1, 1, 1), "the same seed draws the same jitter")
	assert.NotEqual(t, a, dues(43, jitter, 1, 1, 1, 1, 1, 1, 1, 1), "another seed draws other jitter")
	for i, d := range a {
		assert.GreaterOrEqual(t, d, 50*time.Millisecond)
		assert.LessOrEqual(t, d, 150*time.Millisecond)
		if i > 0 {
			assert.GreaterOrEqual(t, d, a[i-1], "never overtakes")
		}
	}

	tests := []struct {
		name  string
		s     LinkSettings
		sizes []int
		want  []time.Duration
	}{
		{"latency only", LinkSettings{Latency: time.Second}, []int{10, 10}, []time.Duration{time.Second, time.Second}},
		{"bandwidth queues writes", LinkSettings{BandwidthBytesPerSec: 1000}, []int{500, 500, 1000},
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"bandwidth then latency", LinkSettings{Latency: time.Second, BandwidthBytesPerSec: 100}, []int{100},
			[]time.Duration{2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, dues(1, tt.s, tt.sizes...))
		})
	}
}

func TestLinkSettingsCompose(t *testing.T) {
	l := NewLink("x", 1)
	undoA := l.Set(LinkSettings{Latency: time.Second, BandwidthBytesPerSec: 1000})
	undoB := l.Set(LinkSettings{Latency: time.Second, Jitter: time.Millisecond, Blackhole: true, BandwidthBytesPerSec: 500})
	undoC := l.Set(LinkSettings{BandwidthBytesPerSec: 2000})
	assert.Equal(t, LinkSettings{Latency: 2 * time.Second, Jitter: time.Millisecond, Blackhole: true, BandwidthBytesPerSec: 500}, l.Settings())
	undoB()
	undoB()
	assert.Equal(t, LinkSettings{Latency: time.Second, BandwidthBytesPerSec: 1000}, l.Settings())
	undoA()
	undoC()
	assert.Equal(t, LinkSettings{}, l.Settings())
}

func TestLinkBandwidthEndToEnd(t *testing.T) {
	p := newPair(t, 1)
	defer p.link.Set(LinkSettings{BandwidthBytesPerSec: 1000})()
	got := readAsync(p.server, 1000)
	_, err := p.client.Write(make([]byte, 1000))
	require.NoError(t, err)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1))
	p.clock.Advance(999 * time.Millisecond)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1))
	p.clock.Advance(time.Millisecond)
	assert.Len(t, <-got, 1000)
}

func TestLinkBlackhole(t *testing.T) {
	p := newPair(t, 1)
	c := lc(t, p.client)
	undo := p.link.Set(LinkSettings{Blackhole: true})

	// Writes succeed and vanish.
	n, err := p.client.Write([]byte("lost"))
	require.NoError(t, err)
	assert.Equal(t, 4, n)

	// Reads block; what the peer sends meanwhile is swallowed.
	got := readAsync(p.client, 4)
	_, err = p.server.Write([]byte("gone"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { // waits for the receive goroutine, not for time
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.in.swallowed == 4 && c.out.swallowed == 4 && c.out.queued == 0
	}, 5*time.Second, time.Millisecond)
	select {
	case s := <-got:
		t.Fatalf("read %q through a blackhole", s)
	default:
	}

	undo()
	// What is sent after the partition heals arrives; what was sent during it never does.
	_, err = p.server.Write([]byte("back"))
	require.NoError(t, err)
	assert.Equal(t, "back", <-got)
	_, err = p.client.Write([]byte("sent"))
	require.NoError(t, err)
	assert.Equal(t, "sent", readN(t, p.server, 4))
}

func TestLinkBlackholeDropsInFlight(t *testing.T) {
	p := newPair(t, 1)
	undoLatency := p.link.Set(LinkSettings{Latency: time.Second})
	_, err := p.client.Write([]byte("late"))
	require.NoError(t, err)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1))
	undoHole := p.link.Set(LinkSettings{Blackhole: true})
	p.clock.Advance(time.Second) // due while the link is partitioned: dropped
	c := lc(t, p.client)
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.out.queued == 0 && c.out.swallowed == 4
	}, 5*time.Second, time.Millisecond)
	undoHole()
	undoLatency()
	_, err = p.client.Write([]byte("next"))
	require.NoError(t, err)
	assert.Equal(t, "next", readN(t, p.server, 4))
}

func TestLinkReset(t *testing.T) {
	p := newPair(t, 1)
	reading := readAsync(p.client, 1)
	undo := p.link.Set(LinkSettings{Reset: true})

	assert.Contains(t, <-reading, "connection reset")
	_, err := p.client.Write([]byte("x"))
	require.ErrorIs(t, err, syscall.ECONNRESET)
	assert.Zero(t, p.link.Conns())

	dialed := false
	dial := p.link.Dialer(func(context.Context, string) (net.Conn, error) { dialed = true; return nil, errors.New("unreachable") })
	_, err = dial(t.Context(), "bufnet")
	require.ErrorIs(t, err, syscall.ECONNRESET)
	require.ErrorIs(t, err, ErrReset)
	assert.False(t, dialed, "a reset link fails the dial without dialing")

	a, b := net.Pipe()
	defer func() { _ = b.Close() }()
	_, err = p.link.Wrap(a)
	require.ErrorIs(t, err, ErrReset)

	undo()
	c, err := p.link.Wrap(b)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.Error(t, c.Close(), "closing twice fails like a net.Conn")
}

func TestLinkLiveChangesApplyToOpenConns(t *testing.T) {
	p := newPair(t, 1)
	_, err := p.client.Write([]byte("fast"))
	require.NoError(t, err)
	assert.Equal(t, "fast", readN(t, p.server, 4))

	undo := p.link.Set(LinkSettings{Latency: time.Minute})
	got := readAsync(p.server, 4)
	_, err = p.client.Write([]byte("slow"))
	require.NoError(t, err)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1))
	p.clock.Advance(time.Minute)
	assert.Equal(t, "slow", <-got)

	undo()
	_, err = p.client.Write([]byte("fast"))
	require.NoError(t, err)
	assert.Equal(t, "fast", readN(t, p.server, 4))
}

func TestLinkReadDeadline(t *testing.T) {
	p := newPair(t, 1)
	require.NoError(t, p.client.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err := p.client.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	// A deadline set while a Read blocks releases it.
	require.NoError(t, p.client.SetDeadline(time.Time{}))
	done := make(chan error, 1)
	go func() { _, err := p.client.Read(make([]byte, 1)); done <- err }()
	require.NoError(t, p.client.SetReadDeadline(time.Now()))
	require.ErrorIs(t, <-done, os.ErrDeadlineExceeded)

	require.NoError(t, p.client.Close())
	require.ErrorIs(t, p.client.SetReadDeadline(time.Time{}), net.ErrClosed)
	_, err = p.client.Read(make([]byte, 1))
	require.ErrorIs(t, err, net.ErrClosed)
}

func TestLinkPeerCloseIsEOF(t *testing.T) {
	p := newPair(t, 1)
	defer p.link.Set(LinkSettings{Latency: time.Second})()
	_, err := p.server.Write([]byte("bye"))
	require.NoError(t, err)
	require.NoError(t, p.server.Close())
	got := readAsync(p.client, 3)
	require.NoError(t, p.clock.BlockUntilContext(t.Context(), 1))
	p.clock.Advance(time.Second)
	assert.Equal(t, "bye", <-got, "bytes before the close still arrive")
	_, err = p.client.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
}

func TestLinkNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	clock := clockwork.NewFakeClockAt(t0)
	link := NewLink("client-service", 1, WithLinkClock(clock))
	lis := bufconn.Listen(1 << 16)
	dial := link.Dialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })

	undo := link.Set(LinkSettings{Latency: time.Millisecond, Jitter: time.Millisecond, BandwidthBytesPerSec: 1 << 20})
	var conns []net.Conn
	for range 10 {
		accepted := make(chan net.Conn, 1)
		go func() {
			s, err := lis.Accept()
			if err == nil {
				accepted <- s
			}
		}()
		c, err := dial(t.Context(), "bufnet")
		require.NoError(t, err)
		s := <-accepted
		_, err = c.Write([]byte("in flight"))
		require.NoError(t, err)
		conns = append(conns, c, s)
	}
	hole := link.Set(LinkSettings{Blackhole: true})
	blocked := readAsync(conns[0], 1)
	for i := 0; i < len(conns); i += 4 {
		_ = conns[i].Close() // the client end, some with reads or deliveries pending
	}
	reset := link.Set(LinkSettings{Reset: true}) // the rest are reset
	<-blocked
	for _, c := range conns {
		_ = c.Close()
	}
	reset()
	hole()
	undo()
	_ = lis.Close()

	link.goroutines.Wait() // every goroutine the link started has returned
	assert.Zero(t, link.Conns())
	// Polled in this goroutine: assert.Eventually runs goroutines of its own.
	for end := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(end); {
		runtime.Gosched()
	}
	if runtime.NumGoroutine() > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines before %d, now %d:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
}

// TestLinkCarriesGRPC runs real gRPC over a link on bufconn and on loopback
// TCP: the conn wrapper must be transparent to HTTP/2, and a reset must
// reach the caller as UNAVAILABLE.
func TestLinkCarriesGRPC(t *testing.T) {
	tests := []struct {
		name   string
		listen func(t *testing.T) (net.Listener, func(ctx context.Context, addr string) (net.Conn, error))
	}{
		{"bufconn", func(t *testing.T) (net.Listener, func(ctx context.Context, addr string) (net.Conn, error)) {
			lis := bufconn.Listen(1 << 20)
			return lis, func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
		}},
		{"tcp", func(t *testing.T) (net.Listener, func(ctx context.Context, addr string) (net.Conn, error)) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			var d net.Dialer
			return lis, func(ctx context.Context, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", lis.Addr().String())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lis, next := tt.listen(t)
			srv := grpc.NewServer()
			healthpb.RegisterHealthServer(srv, health.NewServer())
			go func() { _ = srv.Serve(lis) }()
			defer srv.Stop()

			link := NewLink("client-service", 1)
			conn, err := grpc.NewClient("passthrough:///target", grpc.WithContextDialer(link.Dialer(next)),
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithConnectParams(grpc.ConnectParams{
					Backoff:           backoff.Config{BaseDelay: time.Millisecond, Multiplier: 1.6, MaxDelay: 10 * time.Millisecond},
					MinConnectTimeout: 5 * time.Second,
				}))
			require.NoError(t, err)
			defer func() { _ = conn.Close() }()
			client := healthpb.NewHealthClient(conn)

			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
			assert.Equal(t, 1, link.Conns())

			undo := link.Set(LinkSettings{Reset: true})
			_, err = client.Check(ctx, &healthpb.HealthCheckRequest{})
			assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
			undo()
			_, err = client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
			require.NoError(t, err, "the link heals after the reset")
		})
	}
}
