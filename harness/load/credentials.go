package load

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/reference/interceptor"
)

// Credentials yield the metadata that authorizes each call: the JIT model's
// identity and grant, or anything else a target wants per call.
type Credentials interface {
	// Metadata returns the headers of worker's next call as key/value pairs.
	// The generator calls it within the call's deadline, from the worker's
	// own goroutine: a worker's calls never overlap. Its error becomes the
	// call's status: a *reason.Error or a status says why, and a plain error
	// reads as BROKER_UNAVAILABLE (APPROVAL_PENDING past the deadline).
	Metadata(ctx context.Context, worker int) ([]string, error)
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(ctx context.Context, worker int) ([]string, error)

// Metadata calls f(ctx, worker).
func (f CredentialsFunc) Metadata(ctx context.Context, worker int) ([]string, error) {
	return f(ctx, worker)
}

var (
	_ Credentials   = CredentialsFunc(nil)
	_ Credentials   = (*Grants)(nil)
	_ PhaseObserver = (*Grants)(nil)
)

// PhaseFunc records how long one phase ("grant") of worker's current call took.
type PhaseFunc func(worker int, phase string, start time.Time, took time.Duration)

// PhaseObserver is implemented by credentials that time phases of a call;
// the generator hands them a PhaseFunc before the first call, and the
// phases land in Result.Phases.
type PhaseObserver interface {
	// ObservePhases sets the function phases are reported to.
	ObservePhases(PhaseFunc)
}

// GrantMode says how often a worker obtains a JIT grant.
type GrantMode string

// Grant modes.
const (
	// PerCall obtains a fresh grant for every call: the cost of approval on every call.
	PerCall GrantMode = "per-call"
	// Cached obtains one grant per worker and reuses it, even once expired (calls then fail GRANT_EXPIRED).
	Cached GrantMode = "cached"
	// Renew obtains one grant per worker and a new one RenewBefore its expiry, as a well-behaved client does.
	Renew GrantMode = "renew"
)

// GrantModes lists the modes, in the order the CLI shows them.
var GrantModes = []GrantMode{PerCall, Cached, Renew}

// ParseGrantMode reads a grant mode by name.
func ParseGrantMode(s string) (GrantMode, error) {
	for _, m := range GrantModes {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(GrantModes))
	for i, m := range GrantModes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("grant mode %q: want one of %s", s, strings.Join(names, ", "))
}

// DefaultRenewBefore is how long before expiry Renew replaces a grant, and
// any mode an identity, when GrantConfig.RenewBefore is zero: the broker
// client's own margin, so a broker grant source does not hand back the
// grant it is asked to replace.
const DefaultRenewBefore = 30 * time.Second

// GrantConfig configures Grants.
type GrantConfig struct {
	// Mode says how often each worker obtains a grant.
	Mode GrantMode
	// Method is the full method name grants are asked for.
	Method string
	// Identity supplies the caller's identity token; nil sends none (an
	// mTLS identity, or one sent as a static header).
	Identity interceptor.IdentitySource
	// Source returns worker's grant source: one shared source (a minting
	// one) or one per worker (a broker client, whose cache is per source).
	// A source with a Forget method is told to forget before each PerCall
	// grant, so a caching source cannot hand back the grant it gave before.
	Source func(worker int) interceptor.GrantSource
	// RenewBefore is the renewal margin; zero means DefaultRenewBefore.
	RenewBefore time.Duration
	// Clock decides when a grant is due for renewal; nil means the real clock.
	Clock clockwork.Clock
	// IdentityHeader and GrantHeader name the headers; empty means the reference's.
	IdentityHeader, GrantHeader string
}

// Grants are Credentials carrying an identity and a JIT grant, obtained
// as the mode says. Each worker keeps its own, touched only by its own
// goroutine, so a call takes no lock to find them.
type Grants struct {
	cfg     GrantConfig
	observe PhaseFunc

	mu      sync.Mutex // serializes growing workers
	workers atomic.Pointer[[]*workerCreds]
}

// workerCreds is what one worker holds.
type workerCreds struct {
	source   interceptor.GrantSource
	identity interceptor.Credential
	grant    interceptor.Credential
	md       []string
}

// forgetter is a grant source with a cache it can drop (brokerclient.GrantSource).
type forgetter interface{ Forget() }

// NewGrants returns credentials for cfg.
func NewGrants(cfg GrantConfig) (*Grants, error) {
	if _, err := ParseGrantMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if cfg.Source == nil {
		return nil, fmt.Errorf("load: grant mode %s needs a grant source", cfg.Mode)
	}
	if cfg.RenewBefore <= 0 {
		cfg.RenewBefore = DefaultRenewBefore
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.IdentityHeader == "" {
		cfg.IdentityHeader = interceptor.IdentityHeader
	}
	if cfg.GrantHeader == "" {
		cfg.GrantHeader = interceptor.GrantHeader
	}
	g := &Grants{cfg: cfg}
	g.workers.Store(&[]*workerCreds{})
	return g, nil
}

// ObservePhases implements PhaseObserver: each grant obtained is timed as phase "grant".
func (g *Grants) ObservePhases(f PhaseFunc) { g.observe = f }

// Metadata implements Credentials.
func (g *Grants) Metadata(ctx context.Context, worker int) ([]string, error) {
	w := g.worker(worker)
	now := g.cfg.Clock.Now()
	changed := false
	if g.cfg.Identity != nil && g.due(w.identity, now, true) {
		id, err := g.cfg.Identity.Identity(ctx)
		if err != nil {
			return nil, grantError(ctx, err)
		}
		w.identity, changed = id, true
	}
	if g.due(w.grant, now, g.cfg.Mode == Renew) || g.cfg.Mode == PerCall {
		if f, ok := w.source.(forgetter); ok && g.cfg.Mode == PerCall {
			f.Forget()
		}
		start := g.cfg.Clock.Now()
		c, err := w.source.Grant(ctx, g.cfg.Method)
		if g.observe != nil {
			g.observe(worker, "grant", start, g.cfg.Clock.Since(start))
		}
		if err != nil {
			return nil, grantError(ctx, err)
		}
		w.grant, changed = c, true
	}
	if changed || w.md == nil {
		// A new slice: the previous one may still be read by a call of this worker's that a deadline abandoned.
		md := make([]string, 0, 4)
		if w.identity.Token != "" {
			md = append(md, g.cfg.IdentityHeader, "Bearer "+w.identity.Token)
		}
		w.md = append(md, g.cfg.GrantHeader, w.grant.Token)
	}
	return w.md, nil
}

// due reports whether c must be obtained (again): none yet, a one-shot one
// already used, or, when renewing, one within the margin of its expiry.
func (g *Grants) due(c interceptor.Credential, now time.Time, renew bool) bool {
	switch {
	case c.Token == "" || c.Once:
		return true
	case renew && !c.Expires.IsZero():
		return !now.Before(c.Expires.Add(-g.cfg.RenewBefore))
	}
	return false
}

// worker returns worker's credentials, making them on its first call.
func (g *Grants) worker(id int) *workerCreds {
	if ws := *g.workers.Load(); id < len(ws) && ws[id] != nil {
		return ws[id]
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	ws := *g.workers.Load()
	if id < len(ws) && ws[id] != nil {
		return ws[id]
	}
	// Copy on write: readers hold the old slice without a lock.
	grown := make([]*workerCreds, max(len(ws), id+1))
	copy(grown, ws)
	w := &workerCreds{source: g.cfg.Source(id)}
	grown[id] = w
	g.workers.Store(&grown)
	return w
}
