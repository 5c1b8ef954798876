package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jitbench/jitbench/reference/token"
)

// DefaultJWKSPath is where ServedKeys serves its key set unless told otherwise.
const DefaultJWKSPath = "/.well-known/jwks.json"

// ServedKeys is a key source the suite serves: the grant issuer's public
// keys as a JWKS on a loopback port the target is configured to read. It
// is a KeyRetirer, so DL-003, KEY-004, OUT-002 and OUT-003 run from the
// command line: Fresh adds a key to the set, Retire takes one out, and
// Outage refuses connections or answers slowly.
type ServedKeys struct {
	listen, path string
	keys         *token.KeySet

	mu      sync.Mutex
	srv     *http.Server
	lis     net.Listener
	conns   map[net.Conn]bool
	down    bool
	delay   time.Duration
	retired []string
	fresh   int
	fetches int
	// missed counts the fetches an outage refused or slowed.
	missed int64
}

// NewServedKeys returns a key source for keys, to be served on listen
// (host:port) at path ("" means DefaultJWKSPath) once started.
func NewServedKeys(listen, path string, keys *token.KeySet) *ServedKeys {
	if path == "" {
		path = DefaultJWKSPath
	}
	return &ServedKeys{listen: listen, path: path, keys: keys, conns: map[net.Conn]bool{}}
}

// Start listens and serves; starting a started source does nothing.
func (s *ServedKeys) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lis != nil {
		return nil
	}
	lis, err := net.Listen("tcp", s.listen)
	if err != nil {
		return fmt.Errorf("key_source: serve the JWKS on %s: %w", s.listen, err)
	}
	tracked := &trackingListener{Listener: lis, s: s}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	s.lis, s.srv = tracked, srv
	go func() { _ = srv.Serve(tracked) }()
	return nil
}

// URL is where the target reads the keys (empty before Start).
func (s *ServedKeys) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lis == nil {
		return ""
	}
	return "http://" + s.lis.Addr().String() + s.path
}

// Close stops serving.
func (s *ServedKeys) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.srv, s.lis = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Fetches is how many times the key set has been served.
func (s *ServedKeys) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// serve answers the JWKS, after the delay of a slow outage.
func (s *ServedKeys) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != s.path {
		http.NotFound(w, req)
		return
	}
	s.mu.Lock()
	delay := s.delay
	s.fetches++
	if delay > 0 {
		s.missed++
	}
	var keys []*token.Key
	for _, k := range s.keys.Keys() {
		if k.Algorithm != token.HS256 && !slices.Contains(s.retired, k.ID) {
			keys = append(keys, k.PublicOnly())
		}
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	doc, err := token.MarshalKeySet(keys)
	if err != nil {
		http.Error(w, "jitbench: cannot encode the key set", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

// OutageFetches counts the fetches an outage has refused (a connection
// reset) or slowed so far: what a service met of it.
func (s *ServedKeys) OutageFetches() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.missed
}

// Fresh makes a key of the issuer's algorithm and serves it from now on.
func (s *ServedKeys) Fresh(context.Context) (*token.Key, error) {
	cur, err := s.keys.Signing()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.fresh++
	kid := fmt.Sprintf("jitbench-fresh-%d-%d", time.Now().UnixNano(), s.fresh)
	s.mu.Unlock()
	key, err := token.GenerateKey(cur.Algorithm, kid)
	if err != nil {
		return nil, err
	}
	s.keys.Add(key) // not the signing key: the first key added stays that
	return key, nil
}

// Retire stops serving the key kid.
func (s *ServedKeys) Retire(_ context.Context, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, err := s.keys.Signing(); err == nil && cur.ID == kid {
		return errors.New("the signing key cannot be retired")
	}
	s.retired = append(s.retired, kid)
	return nil
}

// Outage refuses every connection (delay 0), closing the open ones, or
// answers only after delay, until restore is called.
func (s *ServedKeys) Outage(delay time.Duration) (restore func()) {
	s.mu.Lock()
	if delay > 0 {
		s.delay = delay
	} else {
		s.down = true
		for c := range s.conns {
			_ = c.Close()
		}
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.down, s.delay = false, 0
		s.mu.Unlock()
	}
}

// trackingListener keeps the open connections, and closes new ones while the source is down.
type trackingListener struct {
	net.Listener
	s *ServedKeys
}

// Accept returns the next connection the source serves.
func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		down := l.s.down
		if !down {
			l.s.conns[c] = true
		}
		l.s.mu.Unlock()
		if down {
			l.s.mu.Lock()
			l.s.missed++
			l.s.mu.Unlock()
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, as from a host that is gone
			}
			_ = c.Close()
			continue
		}
		return &trackedConn{Conn: c, s: l.s}, nil
	}
}

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	s *ServedKeys
}

// Close closes the connection and forgets it.
func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c.Conn)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

// serve starts what c serves (a ServedKeys key source) and returns what
// stops it; a source the caller started already is left to the caller.
func (c *Config) serve() (stop func(), err error) {
	s, ok := c.KeySource.(*ServedKeys)
	if !ok || s.URL() != "" {
		return func() {}, nil
	}
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return func() { _ = s.Close() }, nil
}
