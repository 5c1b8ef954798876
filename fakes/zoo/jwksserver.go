package zoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4"
)

// JWKSServer is a tiny HTTP server of a JSON Web Key Set for tests: the key
// source of an oauth-scope service, or an attacker's jku. It counts fetches
// and can be taken down or made to hold its answers, and keys can be
// published and retired while it runs. Every path serves the set.
type JWKSServer struct {
	// URL is the set's address, http://127.0.0.1:port/.well-known/jwks.json.
	URL string

	srv     *http.Server
	fetches atomic.Int64

	mu   sync.Mutex
	keys []jose.JSONWebKey
	down bool
	hold chan struct{} // non-nil: answers wait until it is closed
}

// NewJWKSServer serves set (public halves only, see Publish) on
// a loopback port until Close.
func NewJWKSServer(set jose.JSONWebKeySet) (*JWKSServer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("zoo: JWKS server: %w", err)
	}
	s := &JWKSServer{URL: "http://" + lis.Addr().String() + "/.well-known/jwks.json"}
	s.Publish(set.Keys...)
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: defaultHTTPClient().Timeout}
	go func() { _ = s.srv.Serve(lis) }() // ends with ErrServerClosed at Close
	return s, nil
}

// serve answers one fetch.
func (s *JWKSServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	hold, down := s.hold, s.down
	body, err := json.Marshal(jose.JSONWebKeySet{Keys: s.keys})
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return // the client gave up
		}
	}
	if down || err != nil {
		http.Error(w, "key source unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(body) // a client that went away gets nothing either way
}

// Publish adds keys to the set (public halves; a symmetric key has none and
// is left out), replacing keys of the same kid.
func (s *JWKSServer) Publish(keys ...jose.JSONWebKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if !k.IsPublic() {
			if k = k.Public(); !k.Valid() {
				continue
			}
		}
		s.keys = slices.DeleteFunc(s.keys, func(old jose.JSONWebKey) bool { return old.KeyID == k.KeyID })
		s.keys = append(s.keys, k)
	}
}

// Retire removes the key kid from the set.
func (s *JWKSServer) Retire(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.DeleteFunc(s.keys, func(k jose.JSONWebKey) bool { return k.KeyID == kid })
}

// Down makes every fetch fail with 503 until restore is called.
func (s *JWKSServer) Down() (restore func()) {
	s.mu.Lock()
	s.down = true
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.down = false
		s.mu.Unlock()
	}
}

// Hold makes every fetch wait, until release is called or its client gives
// up: a key source slower than any deadline, without a clock.
func (s *JWKSServer) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hold := make(chan struct{})
	s.hold = hold
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == hold {
				s.hold = nil
			}
			s.mu.Unlock()
			close(hold)
		})
	}
}

// Fetches counts the requests the server has received.
func (s *JWKSServer) Fetches() int64 { return s.fetches.Load() }

// Close stops the server, ending held requests.
func (s *JWKSServer) Close() error {
	if err := s.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("zoo: JWKS server: %w", err)
	}
	return nil
}
