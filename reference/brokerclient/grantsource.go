package brokerclient

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
)

// GrantSource obtains JIT grants from the broker for a caller: it requests
// access for the method's scope, watches the request until a decision, and
// caches approved grants per scope until RenewBefore their expiry.
//
// Renewal is a new access request: unless the broker's policy auto-approves
// the scope, it needs a reviewer's approval again, and the call that finds
// its grant due for renewal waits for it within its own deadline.
type GrantSource struct {
	client  jitv1.BrokerClient
	opts    Options
	clock   clockwork.Clock
	backoff *backoff

	flights flights
	pending pendingRequests

	mu    sync.Mutex
	cache map[string]interceptor.Credential // approved reusable grants, by scope key
}

var _ interceptor.GrantSource = (*GrantSource)(nil)

// New returns a GrantSource that asks client for grants as opts says.
func New(client jitv1.BrokerClient, opts Options) *GrantSource {
	opts = opts.withDefaults()
	return &GrantSource{
		client:  client,
		opts:    opts,
		clock:   opts.Clock,
		backoff: newBackoff(opts.Retry, opts.Clock),
		cache:   make(map[string]interceptor.Credential),
	}
}

// Grant returns a grant for method: a cached one while it is valid beyond
// RenewBefore, else one from a new (or resumed) access request. It blocks
// until a decision or ctx's deadline, which it never extends. Its errors are
// *reason.Error values (APPROVAL_PENDING, APPROVAL_DENIED,
// BROKER_UNAVAILABLE) or the broker's own status (NO_POLICY, say).
func (g *GrantSource) Grant(ctx context.Context, method string) (interceptor.Credential, error) {
	sc := g.scopeOf(method)
	start := time.Now() // real time: it is reported against ctx's deadline
	for {
		if c, ok := g.cached(sc.key); ok {
			return c, nil
		}
		var (
			cred   interceptor.Credential
			prog   *progress
			leader = true
			err    error
		)
		if g.opts.OneShot {
			// Never shared: a one-shot grant is good for one call only.
			prog = &progress{}
			cred, err = g.obtain(ctx, sc, prog)
		} else {
			cred, prog, leader, err = g.flights.do(ctx, sc.key, func(p *progress) (interceptor.Credential, error) {
				if c, ok := g.cached(sc.key); ok {
					return c, nil // a flight that just ended cached it
				}
				c, err := g.obtain(ctx, sc, p)
				if err == nil {
					g.store(sc.key, c)
				}
				return c, err
			})
		}
		switch {
		case err == nil && cred.Once && !leader:
			continue // the broker made it one-shot: it belongs to the leader alone
		case errors.Is(err, errInterrupted) && !leader && ctx.Err() == nil:
			continue // the leader's deadline ended the shared attempt, not ours
		case errors.Is(err, errInterrupted):
			return interceptor.Credential{}, interrupted(ctx, prog.snapshot(), start)
		}
		return cred, err
	}
}

// cached returns the grant cached for key if it is valid beyond RenewBefore.
func (g *GrantSource) cached(key string) (interceptor.Credential, bool) {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.cache[key]
	if !ok {
		return c, false
	}
	if now.Before(c.Expires.Add(-g.opts.RenewBefore)) {
		return c, true
	}
	delete(g.cache, key)
	return interceptor.Credential{}, false
}

// store caches c for key unless it is one-shot or its expiry is unknown.
func (g *GrantSource) store(key string, c interceptor.Credential) {
	if c.Once || c.Expires.IsZero() {
		return
	}
	g.mu.Lock()
	g.cache[key] = c
	g.mu.Unlock()
}

// Forget drops every cached grant; requests left pending are still resumed.
func (g *GrantSource) Forget() {
	g.mu.Lock()
	clear(g.cache)
	g.mu.Unlock()
}
