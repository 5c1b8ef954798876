package fakes

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
)

// ErrNoLink is what Env.Link wraps for a link the topology does not have:
// the service of a user's own does not call jitbench's broker.
var ErrNoLink = errors.New("the topology has no such link")

// Link is one network link of a topology (client→service, say) that network
// faults act on: latency, jitter, a silent partition, resets and a bandwidth
// cap, changed while connections are open.
//
// It wraps net.Conns at the dialer instead of embedding a toxiproxy-style TCP
// proxy because the in-process topology runs over bufconn: there is no TCP
// port to put a proxy in front of, and a conn wrapper works the same over
// bufconn and loopback TCP. The composable settings follow toxiproxy's idea
// of toxics; the code is our own.
//
// Settings compose: every Set adds a layer and its restore removes exactly
// that layer (latencies and jitters add up, blackhole and reset hold while
// any layer asks for them, the lowest bandwidth wins), so overlapping
// network faults undo cleanly in any order. Each layer counts what it
// touched: writes and reads it delayed, throttled or swallowed, connections
// it closed and dials it refused.
type Link struct {
	name  string
	clock clockwork.Clock

	mu     sync.Mutex
	rng    *rand.Rand
	layers []*linkLayer
	conns  map[*linkConn]struct{}

	// goroutines tracks every goroutine the link started, so tests can
	// prove none outlives its connection.
	goroutines sync.WaitGroup
}

// LinkSettings is what a network fault does to a link.
type LinkSettings struct {
	// Latency delays every write, in both directions, keeping the bytes in order.
	Latency time.Duration
	// Jitter adds a delay drawn uniformly from [-Jitter, +Jitter] (seeded) to each write's latency.
	Jitter time.Duration
	// Blackhole swallows bytes both ways and blocks reads until it is lifted: a silent partition.
	Blackhole bool
	// Reset closes every open connection at once and fails new dials while it is set.
	Reset bool
	// BandwidthBytesPerSec caps each direction's throughput; 0 means unlimited.
	BandwidthBytesPerSec int
}

// LinkOption configures a Link.
type LinkOption func(*Link)

// WithLinkClock makes the link time its delays with c (a fake clock in
// tests); the default is the real clock.
func WithLinkClock(c clockwork.Clock) LinkOption {
	return func(l *Link) { l.clock = c }
}

// ErrReset is what dials, reads and writes fail with while a link is reset; it matches syscall.ECONNRESET.
var ErrReset = fmt.Errorf("connection reset by a jitbench network fault: %w", syscall.ECONNRESET)

// maxQueued bounds the bytes held per direction of one connection; writers
// block beyond it, which is also how a bandwidth cap pushes back.
const maxQueued = 4 << 20

// readChunk is how much the link reads from the underlying conn at a time.
const readChunk = 32 << 10

// NewLink returns a link named name (for errors and reports) whose jitter is drawn from seed.
func NewLink(name string, seed int64, opts ...LinkOption) *Link {
	l := &Link{
		name:  name,
		clock: clockwork.NewRealClock(),
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x6a697462656e6368)), // "jitbench"
		conns: make(map[*linkConn]struct{}),
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Name is the link's name, e.g. "client-service".
func (l *Link) Name() string { return l.name }

// Settings returns the settings in force: every layer combined.
func (l *Link) Settings() LinkSettings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.effectiveLocked()
}

// linkLayer is one Set.
type linkLayer struct {
	LinkSettings
	*Layer
}

func (l *Link) effectiveLocked() LinkSettings {
	var s LinkSettings
	for _, x := range l.layers {
		s.Latency += x.Latency
		s.Jitter += x.Jitter
		s.Blackhole = s.Blackhole || x.Blackhole
		s.Reset = s.Reset || x.Reset
		if x.BandwidthBytesPerSec > 0 && (s.BandwidthBytesPerSec == 0 || x.BandwidthBytesPerSec < s.BandwidthBytesPerSec) {
			s.BandwidthBytesPerSec = x.BandwidthBytesPerSec
		}
	}
	return s
}

// Set adds s on top of the link's settings; live connections see it at
// once. The returned restore removes this layer only; calling it again does
// nothing.
func (l *Link) Set(s LinkSettings) (restore func()) { return l.Add(s).Remove }

// Add is Set returning the settings' layer, which also counts what it
// touched while in force: writes and reads it shaped, connections it
// closed, dials it refused.
func (l *Link) Add(s LinkSettings) *Layer {
	layer := &linkLayer{LinkSettings: s}
	layer.Layer = newLayer(func() {
		l.mu.Lock()
		if i := slices.Index(l.layers, layer); i >= 0 {
			l.layers = slices.Delete(l.layers, i, i+1)
		}
		conns := l.snapshotLocked()
		l.mu.Unlock()
		for _, c := range conns {
			c.wake() // a lifted blackhole must release blocked reads
		}
	})
	l.mu.Lock()
	l.layers = append(l.layers, layer)
	conns := l.snapshotLocked()
	l.mu.Unlock()
	for _, c := range conns {
		if s.Reset {
			if c.closeWith(ErrReset) {
				layer.meet(1)
			}
		} else {
			c.wake()
		}
	}
	return layer.Layer
}

// refusedLocked counts a refused dial on every reset layer.
func (l *Link) refusedLocked() {
	for _, x := range l.layers {
		if x.Reset {
			x.meet(1)
		}
	}
}

func (l *Link) snapshotLocked() []*linkConn {
	out := make([]*linkConn, 0, len(l.conns))
	for c := range l.conns {
		out = append(out, c)
	}
	return out
}

// Conns reports how many connections are open on the link.
func (l *Link) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Dialer returns a dial func (for grpc.WithContextDialer) that dials with
// next and puts the connection on the link; while the link is reset it
// fails at once with ErrReset instead.
func (l *Link) Dialer(next func(ctx context.Context, addr string) (net.Conn, error)) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		l.mu.Lock()
		reset := l.effectiveLocked().Reset
		if reset {
			l.refusedLocked()
		}
		l.mu.Unlock()
		if reset {
			return nil, &net.OpError{Op: "dial", Net: "jitbench-" + l.name, Err: ErrReset}
		}
		c, err := next(ctx, addr)
		if err != nil {
			return nil, err
		}
		return l.Wrap(c)
	}
}

// Wrap puts an established connection on the link (a server's accepted
// conn, say). It fails with ErrReset, closing c, while the link is reset.
func (l *Link) Wrap(c net.Conn) (net.Conn, error) {
	lc := &linkConn{
		Conn:    c,
		link:    l,
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	l.mu.Lock()
	if l.effectiveLocked().Reset {
		l.refusedLocked()
		l.mu.Unlock()
		_ = c.Close()
		return nil, &net.OpError{Op: "dial", Net: "jitbench-" + l.name, Err: ErrReset}
	}
	l.conns[lc] = struct{}{}
	l.goroutines.Add(2)
	l.mu.Unlock()
	go lc.deliver()
	go lc.receive()
	return lc, nil
}

func (l *Link) forget(c *linkConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// schedule returns when n bytes entering direction d at now come out of the
// other end under the current settings, and records it in d.
func (l *Link) schedule(d *direction, n int, now time.Time) (time.Time, bool) {
	l.mu.Lock()
	s := l.effectiveLocked()
	for _, x := range l.layers {
		x.meet(1)
	}
	delay := s.Latency
	if s.Jitter > 0 {
		delay += time.Duration(l.rng.Int64N(int64(2*s.Jitter)+1)) - s.Jitter
	}
	l.mu.Unlock()
	if s.Blackhole {
		d.swallowed += n
		return time.Time{}, false
	}
	start := now
	if bw := s.BandwidthBytesPerSec; bw > 0 {
		// The sender is busy while earlier bytes go out: a cap queues writes.
		start = later(now, d.busyUntil).Add(time.Duration(int64(n) * int64(time.Second) / int64(bw)))
		d.busyUntil = start
	}
	// Bytes never overtake earlier ones, whatever jitter was drawn.
	due := later(start.Add(max(delay, 0)), d.last)
	d.last = due
	return due, true
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// direction is one way of a connection: bytes waiting to come out, in order.
type direction struct {
	queue     []chunk
	queued    int
	last      time.Time // due time of the latest chunk, so order is kept
	busyUntil time.Time // when the bandwidth cap frees the sender
	swallowed int       // bytes a blackhole dropped
}

type chunk struct {
	data []byte
	due  time.Time
}

func (d *direction) push(c chunk) {
	d.queue = append(d.queue, c)
	d.queued += len(c.data)
}

// linkConn is a connection on a link. Outgoing writes are queued and written
// to the underlying conn at their due time by deliver; incoming bytes are
// read by receive and handed to Read at their due time.
type linkConn struct {
	net.Conn
	link *Link

	// writeMu serialises writes to the underlying conn, so a direct write
	// never interleaves with a delivery.
	writeMu sync.Mutex

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every change a waiter may care about
	done         chan struct{} // closed on Close: the goroutines exit
	closeErr     error         // non-nil once closed: what Read and Write return
	out, in      direction
	outErr       error // the underlying conn's write failure
	inErr        error // the underlying conn's read failure (io.EOF when the peer closed)
	readDeadline time.Time
}

var _ net.Conn = (*linkConn)(nil)

// wakeLocked tells every waiter that something changed.
func (c *linkConn) wakeLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *linkConn) wake() {
	c.mu.Lock()
	c.wakeLocked()
	c.mu.Unlock()
}

func (c *linkConn) blackholed() bool { return c.link.Settings().Blackhole }

// Write queues p to come out after the link's delay and returns at once, as
// a kernel socket buffer would; it blocks only while the queue is full. With
// no fault set it writes straight through.
func (c *linkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for {
		if c.closeErr != nil {
			err := c.closeErr
			c.mu.Unlock()
			return 0, &net.OpError{Op: "write", Net: "jitbench-" + c.link.name, Err: err}
		}
		if c.outErr != nil {
			err := c.outErr
			c.mu.Unlock()
			return 0, err
		}
		if c.out.queued < maxQueued {
			break
		}
		c.waitLocked(nil, time.Time{})
	}
	if len(c.out.queue) == 0 && c.link.Settings() == (LinkSettings{}) {
		// Nothing is pending and no fault is set: skip the queue, keeping
		// an untouched link as fast as the bare conn.
		c.writeMu.Lock()
		c.mu.Unlock()
		defer c.writeMu.Unlock()
		return c.Conn.Write(p)
	}
	due, ok := c.link.schedule(&c.out, len(p), c.link.clock.Now())
	if ok {
		c.out.push(chunk{data: slices.Clone(p), due: due})
		c.wakeLocked()
	}
	c.mu.Unlock()
	return len(p), nil // a blackhole swallows the bytes and says nothing
}

// waitLocked releases c.mu until something changes, the link clock reaches
// due (when set) or the real-time read deadline passes (when set), then
// takes it again.
func (c *linkConn) waitLocked(due *time.Time, deadline time.Time) {
	changed := c.changed
	c.mu.Unlock()
	defer c.mu.Lock()
	var timeout <-chan time.Time
	if due != nil {
		t := c.link.clock.NewTimer(c.link.clock.Until(*due))
		defer t.Stop()
		timeout = t.Chan()
	}
	var expired <-chan time.Time
	if !deadline.IsZero() {
		// Deadlines are set in real time by the net stack, so they are
		// timed by the real clock, not the link's.
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-changed:
	case <-c.done:
	case <-timeout:
	case <-expired:
	}
}

// deliver writes queued chunks to the underlying conn at their due time.
func (c *linkConn) deliver() {
	defer c.link.goroutines.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closeErr != nil || c.outErr != nil {
			return
		}
		if len(c.out.queue) == 0 {
			c.waitLocked(nil, time.Time{})
			continue
		}
		head := c.out.queue[0]
		if head.due.After(c.link.clock.Now()) {
			c.waitLocked(&head.due, time.Time{})
			continue
		}
		c.mu.Unlock()
		var err error
		swallowed := c.blackholed()
		if !swallowed {
			c.writeMu.Lock()
			_, err = c.Conn.Write(head.data)
			c.writeMu.Unlock()
		}
		c.mu.Lock()
		if swallowed {
			c.out.swallowed += len(head.data)
		}
		c.out.queue = c.out.queue[1:]
		c.out.queued -= len(head.data)
		if err != nil {
			c.outErr = err
		}
		c.wakeLocked()
	}
}

// receive reads the underlying conn and queues what arrives for Read.
func (c *linkConn) receive() {
	defer c.link.goroutines.Done()
	for {
		buf := make([]byte, readChunk)
		n, err := c.Conn.Read(buf)
		now := c.link.clock.Now()
		c.mu.Lock()
		if n > 0 {
			if due, ok := c.link.schedule(&c.in, n, now); ok {
				data := buf[:n]
				if n < readChunk/4 {
					data = slices.Clone(data) // do not pin 32 KiB for a small frame
				}
				c.in.push(chunk{data: data, due: due})
			}
		}
		if err != nil {
			c.inErr = err
			c.wakeLocked()
			c.mu.Unlock()
			return
		}
		c.wakeLocked()
		for c.in.queued >= maxQueued && c.closeErr == nil {
			c.waitLocked(nil, time.Time{})
		}
		closed := c.closeErr != nil
		c.mu.Unlock()
		if closed {
			return
		}
	}
}

// Read returns bytes whose due time has come, blocking while the link is
// blackholed, until the deadline or until the conn is closed.
func (c *linkConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closeErr != nil {
			return 0, &net.OpError{Op: "read", Net: "jitbench-" + c.link.name, Err: c.closeErr}
		}
		deadline := c.readDeadline
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return 0, &net.OpError{Op: "read", Net: "jitbench-" + c.link.name, Err: os.ErrDeadlineExceeded}
		}
		if c.blackholed() {
			c.waitLocked(nil, deadline)
			continue
		}
		if len(c.in.queue) == 0 {
			if c.inErr != nil {
				return 0, c.inErr
			}
			c.waitLocked(nil, deadline)
			continue
		}
		head := &c.in.queue[0]
		if head.due.After(c.link.clock.Now()) {
			due := head.due
			c.waitLocked(&due, deadline)
			continue
		}
		n := copy(p, head.data)
		head.data = head.data[n:]
		if len(head.data) == 0 {
			c.in.queue = c.in.queue[1:]
		}
		c.in.queued -= n
		c.wakeLocked()
		return n, nil
	}
}

// Close closes the connection at once, dropping bytes still in flight.
func (c *linkConn) Close() error {
	if !c.closeWith(net.ErrClosed) {
		return &net.OpError{Op: "close", Net: "jitbench-" + c.link.name, Err: net.ErrClosed}
	}
	return nil
}

// closeWith closes c so that reads and writes fail with err; it reports
// whether this call closed it.
func (c *linkConn) closeWith(err error) bool {
	c.mu.Lock()
	if c.closeErr != nil {
		c.mu.Unlock()
		return false
	}
	c.closeErr = err
	close(c.done)
	c.wakeLocked()
	c.mu.Unlock()
	c.link.forget(c)
	_ = c.Conn.Close() // unblocks receive's Read
	return true
}

// SetDeadline sets both deadlines.
func (c *linkConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline bounds Read; the underlying conn keeps no read deadline
// because receive reads it in the background.
func (c *linkConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr != nil {
		return net.ErrClosed
	}
	c.readDeadline = t
	c.wakeLocked()
	return nil
}
