package zoo

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The files team's grant revocation, a REST resource of its admin API:
// POST /v1/grants/{jti}/revoke answers 200 and {"jti":…,"revoked":true},
// errors {"error":…}. The verifier reads the same store, so a revocation is
// in force at once unless Options.RevocationDelay says otherwise.
const (
	filesGrantsPrefix = "/v1/grants/"
	filesRevokeSuffix = "/revoke"
	// filesMaxRevoked bounds the store; past it, once expired entries are swept, revocations are refused (503).
	filesMaxRevoked = 50_000
)

// filesRevocations is the store of revoked grants by jti.
type filesRevocations struct {
	delay       time.Duration
	replication func() time.Time
	now         func() time.Time
	max         int

	mu      sync.RWMutex
	revoked map[string]filesRevoked
}

// filesRevoked is one revoked grant: in force from effective (replication
// clock), kept until expires (token clock), when no grant issued by the
// revocation can be accepted anyway.
type filesRevoked struct {
	effective, expires time.Time
}

func newFilesRevocations(opts Options) *filesRevocations {
	return &filesRevocations{delay: opts.revocationDelay(0), replication: opts.RevocationClock, now: opts.Clock,
		max: filesMaxRevoked, revoked: make(map[string]filesRevoked)}
}

// isRevoked reports whether the grant jti is revoked and in force.
func (s *filesRevocations) isRevoked(jti string) bool {
	s.mu.RLock()
	r, ok := s.revoked[jti]
	s.mu.RUnlock()
	return ok && !s.replication().Before(r.effective)
}

// revoke stores jti, sweeping expired entries first when the store is
// full; false means it is still full.
func (s *filesRevocations) revoke(jti string) (time.Time, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.revoked[jti]; ok {
		return r.effective, true
	}
	if len(s.revoked) >= s.max {
		for id, r := range s.revoked {
			if now.After(r.expires) {
				delete(s.revoked, id)
			}
		}
		if len(s.revoked) >= s.max {
			return time.Time{}, false
		}
	}
	r := filesRevoked{effective: s.replication().Add(s.delay), expires: now.Add(revocationKeep(filesMaxLifetime, filesLeeway))}
	s.revoked[jti] = r
	return r.effective, true
}

// ServeHTTP routes /v1/grants/{jti}/revoke by hand: the jti is one escaped
// path segment, and an empty one is a bad request, not a path to clean.
func (s *filesRevocations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, isGrants := strings.CutPrefix(r.URL.EscapedPath(), filesGrantsPrefix)
	segment, isRevoke := strings.CutSuffix(rest, filesRevokeSuffix)
	if !isGrants || !isRevoke || strings.Contains(segment, "/") {
		filesAnswer(w, http.StatusNotFound, map[string]any{"error": "no such resource"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		filesAnswer(w, http.StatusMethodNotAllowed, map[string]any{"error": "revoke takes POST"})
		return
	}
	jti, err := url.PathUnescape(segment)
	switch {
	case err != nil:
		filesAnswer(w, http.StatusBadRequest, map[string]any{"error": "the grant id is not a valid path segment"})
		return
	case jti == "":
		filesAnswer(w, http.StatusBadRequest, map[string]any{"error": "the grant id (jti) is missing"})
		return
	case len(jti) > maxJTIBytes:
		filesAnswer(w, http.StatusBadRequest, map[string]any{"error": "the grant id is longer than " + strconv.Itoa(maxJTIBytes) + " bytes"})
		return
	}
	effective, ok := s.revoke(jti)
	if !ok {
		filesAnswer(w, http.StatusServiceUnavailable, map[string]any{"error": "too many revoked grants in force; retry later"})
		return
	}
	filesAnswer(w, http.StatusOK, map[string]any{"jti": jti, "revoked": true, "effective": effective.UTC().Format(time.RFC3339Nano)})
}

// filesAnswer writes body as the files API's JSON.
func filesAnswer(w http.ResponseWriter, code int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body) // the client may have gone; nothing to do then
}
