package conformance

import (
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// trap is the URL KEY-002's jku and x5u headers point at: a listener on
// loopback that counts every connection made to it (an HTTPS client that
// gives up after its TLS handshake counts as well as a plain fetch) and
// answers HTTP requests with nothing useful. A target on this machine that
// fetches keys from a token's header is caught; a remote target's fetch
// would go to its own loopback and fail instead, and the case still checks
// its status.
type trap struct {
	url   string
	srv   *http.Server
	conns atomic.Int64
}

// startTrap serves the trap on a free loopback port.
func startTrap() (*trap, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &trap{url: "http://" + lis.Addr().String() + "/.well-known/jwks.json"}
	t.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "jitbench conformance: a verifier must never fetch keys a token names", http.StatusForbidden)
		}),
		ReadHeaderTimeout: time.Second,
	}
	go func() { _ = t.srv.Serve(&countingListener{Listener: lis, n: &t.conns}) }()
	return t, nil
}

// count returns how many connections the trap has accepted.
func (t *trap) count() int64 { return t.conns.Load() }

// close stops the server.
func (t *trap) close() { _ = t.srv.Close() }

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

// Accept counts and returns the next connection.
func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
