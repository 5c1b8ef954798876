package conformance

import (
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// trap is the URL KEY-002's jku and x5u headers point at: an HTTP server on
// loopback that answers nothing useful and counts every request, so a
// target on this machine that fetches keys from a token's header is caught.
// A remote target's fetch would go to its own loopback and fail instead;
// the case still checks its status.
type trap struct {
	url  string
	srv  *http.Server
	hits atomic.Int64
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
			t.hits.Add(1)
			http.Error(w, "jitbench conformance: a verifier must never fetch keys a token names", http.StatusForbidden)
		}),
		ReadHeaderTimeout: time.Second,
	}
	go func() { _ = t.srv.Serve(lis) }()
	return t, nil
}

// count returns how many requests the trap has seen.
func (t *trap) count() int64 { return t.hits.Load() }

// close stops the server.
func (t *trap) close() { _ = t.srv.Close() }
