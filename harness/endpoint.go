package harness

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc/test/bufconn"
)

// endpoint is one server's address: a listener that outlives the servers
// using it, so a restarted broker serves again at the same address, and the
// dialer clients reach it with. One goroutine accepts from the real listener
// and hands connections to whichever server generation is serving; while
// none is (mid-restart) they wait as in a listen backlog.
type endpoint struct {
	under net.Listener
	dial  func(ctx context.Context) (net.Conn, error)
	conns chan net.Conn
	done  chan struct{} // closed when the real listener stops accepting
	stop  chan struct{} // closed by Close
	once  sync.Once
}

// newEndpoint listens for topology topo (inprocess or tcp).
func newEndpoint(topo string) (*endpoint, error) {
	e := &endpoint{conns: make(chan net.Conn), done: make(chan struct{}), stop: make(chan struct{})}
	switch topo {
	case TopologyInProcess, "":
		lis := bufconn.Listen(1 << 20)
		e.under, e.dial = lis, lis.DialContext
	case TopologyTCP:
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := lis.Addr().String()
		var d net.Dialer
		e.under = lis
		e.dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	default:
		return nil, fmt.Errorf("unknown topology %q (want one of %v)", topo, Topologies())
	}
	go e.pump()
	return e, nil
}

func (e *endpoint) pump() {
	defer close(e.done)
	for {
		c, err := e.under.Accept()
		if err != nil {
			return
		}
		select {
		case e.conns <- c:
		case <-e.stop:
			_ = c.Close()
			return
		}
	}
}

// dialer returns a dialer for grpc.WithContextDialer; the address grpc passes is ignored.
func (e *endpoint) dialer() func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) { return e.dial(ctx) }
}

// listener returns a listener for one server generation; closing it (as
// grpc.Server.Stop does) ends that generation only.
func (e *endpoint) listener() net.Listener {
	return &generation{e: e, closed: make(chan struct{})}
}

// Close closes the real listener and drops a connection waiting for a server.
func (e *endpoint) Close() {
	e.once.Do(func() {
		close(e.stop)
		_ = e.under.Close()
	})
}

// generation is one server's view of an endpoint.
type generation struct {
	e      *endpoint
	closed chan struct{}
	once   sync.Once
}

func (g *generation) Accept() (net.Conn, error) {
	select {
	case <-g.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-g.e.conns:
		return c, nil
	case <-g.closed:
		return nil, net.ErrClosed
	case <-g.e.done:
		return nil, net.ErrClosed
	}
}

func (g *generation) Close() error {
	g.once.Do(func() { close(g.closed) })
	return nil
}

func (g *generation) Addr() net.Addr { return g.e.under.Addr() }
