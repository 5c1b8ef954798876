package zoo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// The payouts team's revocations: an ops endpoint writes to the deny list's
// primary, and the verifiers read a replica that catches up a replication
// delay later. POST /admin/revocations?jti=<id> answers 202 Accepted: the
// revocation is recorded, not yet in force.
const (
	payoutsRevokePath = "/admin/revocations"
	// payoutsRevocationDelay is how far the replica lags by default.
	payoutsRevocationDelay = 200 * time.Millisecond
	// payoutsMaxDenied bounds the deny list; past it, revocations are refused (503).
	payoutsMaxDenied = 100_000
)

// errDenyListFull is the answer to a revocation past payoutsMaxDenied.
var errDenyListFull = errors.New("the deny list is full")

// payoutsDenyList holds revoked jtis: each is in force once the replica has
// it (the replication clock reaches visible) and forgotten once no grant
// issued by its revocation can be accepted anyway (the token clock passes forget).
type payoutsDenyList struct {
	delay       time.Duration
	replication func() time.Time
	now         func() time.Time
	max         int

	mu     sync.Mutex
	denied map[string]payoutsDenial
}

// payoutsDenial is one revoked jti.
type payoutsDenial struct {
	visible, forget time.Time
}

func newPayoutsDenyList(opts Options) *payoutsDenyList {
	return &payoutsDenyList{delay: opts.revocationDelay(payoutsRevocationDelay), replication: opts.RevocationClock,
		now: opts.Clock, max: payoutsMaxDenied, denied: make(map[string]payoutsDenial)}
}

// revoke records jti; revoking it again changes nothing (its first
// revocation is already on its way).
func (d *payoutsDenyList) revoke(jti string) error {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, e := range d.denied {
		if now.After(e.forget) {
			delete(d.denied, id)
		}
	}
	if _, ok := d.denied[jti]; ok {
		return nil
	}
	if len(d.denied) >= d.max {
		return errDenyListFull
	}
	d.denied[jti] = payoutsDenial{visible: d.replication().Add(d.delay),
		forget: now.Add(revocationKeep(payoutsMaxLifetime, payoutsLeeway))}
	return nil
}

// denies reports whether the replica refuses jti.
func (d *payoutsDenyList) denies(jti string) bool {
	d.mu.Lock()
	e, ok := d.denied[jti]
	d.mu.Unlock()
	return ok && !d.replication().Before(e.visible)
}

// handler is the ops API: the one endpoint.
func (d *payoutsDenyList) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(payoutsRevokePath, d.serveRevoke)
	return mux
}

// serveRevoke is POST /admin/revocations?jti=<id>, nothing else in the query.
func (d *payoutsDenyList) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "revocations: POST only", http.StatusMethodNotAllowed)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, "revocations: the query does not parse", http.StatusBadRequest)
		return
	}
	for name := range q {
		if name != "jti" {
			http.Error(w, "revocations: the query takes jti only", http.StatusBadRequest)
			return
		}
	}
	ids := q["jti"]
	switch {
	case len(ids) == 0 || ids[0] == "":
		http.Error(w, "revocations: jti is required", http.StatusBadRequest)
		return
	case len(ids) > 1:
		http.Error(w, "revocations: one jti per request", http.StatusBadRequest)
		return
	case len(ids[0]) > maxJTIBytes:
		http.Error(w, fmt.Sprintf("revocations: jti is longer than %d bytes", maxJTIBytes), http.StatusBadRequest)
		return
	}
	if err := d.revoke(ids[0]); err != nil {
		http.Error(w, "revocations: "+err.Error()+"; retry later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = fmt.Fprintf(w, "revocation accepted: in force within %s\n", d.delay)
}
