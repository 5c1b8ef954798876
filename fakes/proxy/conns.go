package proxy

import (
	"net"
	"sync"
)

// connTracker remembers the client connections of a proxy by remote
// address, so a reset fault can close the one a call came on.
type connTracker struct {
	mu    sync.Mutex
	conns map[string]*trackedConn
}

func newConnTracker() *connTracker {
	return &connTracker{conns: make(map[string]*trackedConn)}
}

// listener wraps lis so that every connection it accepts is tracked.
func (t *connTracker) listener(lis net.Listener) net.Listener {
	return &trackingListener{Listener: lis, t: t}
}

type trackingListener struct {
	net.Listener
	t *connTracker
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: l.t, key: c.RemoteAddr().String()}
	l.t.mu.Lock()
	l.t.conns[tc.key] = tc
	l.t.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	key  string
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		if c.t.conns[c.key] == c {
			delete(c.t.conns, c.key)
		}
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// reset closes the connection from addr with a TCP RST (linger 0) and
// reports whether there was one.
func (t *connTracker) reset(addr string) bool {
	t.mu.Lock()
	c := t.conns[addr]
	t.mu.Unlock()
	if c == nil {
		return false
	}
	if tcp, ok := c.Conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = c.Close()
	return true
}
