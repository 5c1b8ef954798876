// Package broker is the reference JIT access broker: callers request access
// to a scope, reviewers approve or deny, an approved request carries a
// short-lived signed grant, and verifiers follow revocations.
//
// The domain model is the jit.v1 protocol's messages, stored whole in a
// store.Store. Every transition is serialized per request and committed to
// the store while that request's lock is held, so concurrent reviews settle
// once; transitions on different requests run in parallel so the store's
// group commit batches their fsyncs. A change becomes visible (to readers
// and watchers) only once its commit returned, and a broker restarted on the
// same store continues where the last one stopped: timers are re-armed from
// the stored deadlines.
package broker

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/token"
)

// DefaultHeartbeatInterval is how often revocation subscribers get a heartbeat when Config leaves it zero.
const DefaultHeartbeatInterval = 5 * time.Second

// Config configures a Broker.
type Config struct {
	// Store keeps requests, the revocation feed and the audit log; required.
	Store store.Store
	// Policy decides who approves what; required.
	Policy *policy.Policy
	// Issuer signs grants; rotating its KeySet (see Rotate) changes the signing key.
	Issuer *token.Issuer
	// Clock drives timestamps, timers and heartbeats; nil means the real clock.
	Clock clockwork.Clock
	// Registerer receives the broker's metrics in addition to its own registry; nil means the private registry only.
	Registerer prometheus.Registerer
	// HeartbeatInterval spaces revocation-feed heartbeats; zero means DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
}

// Caller is who makes a call: always taken from the verified identity, never from a request body.
type Caller struct {
	// Subject is the verified identity's subject.
	Subject string
	// Groups are the verified identity's groups, matched against approver groups.
	Groups []string
}

// Broker is the JIT access broker; it is safe for concurrent use.
type Broker struct {
	store     store.Store
	policy    *policy.Policy
	issuer    *token.Issuer
	clock     clockwork.Clock
	heartbeat time.Duration
	metrics   *metrics
	feed      *feed

	// mu guards entries and closed. It is never held across a commit, and
	// never taken while holding an entry's lock for longer than a map update.
	mu      sync.RWMutex
	entries map[string]*entry
	closed  bool
	// inflight counts API calls and timer callbacks under way, so Close can
	// wait for them before the owner closes the store.
	inflight sync.WaitGroup
	done     chan struct{}
	stopped  chan struct{}
}

// entry is one request's in-memory state and the lock that serializes its transitions.
type entry struct {
	mu sync.Mutex
	// req is the last committed revision. It is replaced, never modified,
	// so a reader holding the pointer sees one consistent revision.
	req      *jitv1.AccessRequest
	watchers []*watcher
	timers   []clockwork.Timer
	// gen changes whenever timers are re-armed, so a timer that fired just
	// before being stopped recognises itself as stale.
	gen uint64
}

// ErrConfig is returned by New for an incomplete Config.
var ErrConfig = errors.New("invalid broker config")

// New returns a broker over cfg.Store: it loads every stored request, re-arms
// pending-expiry, auto-approval and grant-end timers (firing at once those
// already due), and starts the revocation heartbeat.
func New(cfg Config) (*Broker, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: a store is required", ErrConfig)
	case cfg.Policy == nil:
		return nil, fmt.Errorf("%w: a policy is required", ErrConfig)
	case cfg.Issuer == nil:
		return nil, fmt.Errorf("%w: an issuer is required", ErrConfig)
	case cfg.HeartbeatInterval < 0:
		return nil, fmt.Errorf("%w: negative heartbeat interval %v", ErrConfig, cfg.HeartbeatInterval)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	b := &Broker{
		store:     cfg.Store,
		policy:    cfg.Policy,
		issuer:    cfg.Issuer,
		clock:     cfg.Clock,
		heartbeat: cfg.HeartbeatInterval,
		entries:   make(map[string]*entry),
		done:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	m, err := newMetrics(b, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	b.metrics = m
	if err := b.load(); err != nil {
		m.unregister()
		return nil, err
	}
	latest, err := latestSequence(cfg.Store)
	if err != nil {
		m.unregister()
		return nil, fmt.Errorf("read the revocation feed: %w", err)
	}
	epoch, err := feedEpoch(cfg.Store)
	if err != nil {
		m.unregister()
		return nil, err
	}
	b.feed = newFeed(latest, epoch)
	// Timers are armed only once every entry is loaded, so a timer firing
	// at once (a deadline passed while the broker was down) finds the map
	// complete.
	b.mu.RLock()
	for _, e := range b.entries {
		e.mu.Lock()
		b.arm(e)
		e.mu.Unlock()
	}
	b.mu.RUnlock()
	// The ticker exists before New returns, so tests counting the fake
	// clock's waiters see it.
	go b.heartbeats(b.clock.NewTicker(b.heartbeat))
	return b, nil
}

// load reads every stored request into memory.
func (b *Broker) load() error {
	var bad error
	err := b.store.Requests(func(r *jitv1.AccessRequest) bool {
		if r.GetId() == "" || r.GetState() == jitv1.State_STATE_UNSPECIFIED {
			bad = fmt.Errorf("%w: stored request %q has no id or state", store.ErrCorrupt, r.GetId())
			return false
		}
		b.entries[r.GetId()] = &entry{req: r}
		b.metrics.loaded(r)
		return true
	})
	if err != nil {
		return fmt.Errorf("load requests: %w", err)
	}
	return bad
}

// Close stops timers, ends every watcher and revocation subscriber with
// UNAVAILABLE, and waits for calls under way; the store stays open (its
// owner closes it). Closing twice is harmless.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	b.mu.Unlock()
	// Calls that began before closed was set may still commit and arm
	// timers; wait for them so what follows sees the final state.
	b.inflight.Wait()
	<-b.stopped
	b.mu.RLock()
	entries := make([]*entry, 0, len(b.entries))
	for _, e := range b.entries {
		entries = append(entries, e)
	}
	b.mu.RUnlock()
	closed := fail(ErrClosed, "the broker is shutting down")
	for _, e := range entries {
		e.mu.Lock()
		b.disarm(e)
		e.endWatchers(closed)
		e.mu.Unlock()
	}
	b.feed.close(closed)
	b.metrics.unregister()
	return nil
}

// begin admits one call or timer callback, refusing once the broker is
// closed; the returned func marks it done.
func (b *Broker) begin() (func(), error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, fail(ErrClosed, "the broker is closed")
	}
	b.inflight.Add(1)
	return b.inflight.Done, nil
}

// entry returns the entry of id, or nil.
func (b *Broker) entry(id string) *entry {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.entries[id]
}

// snapshot returns every entry, for listings.
func (b *Broker) snapshot() []*entry {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]*entry, 0, len(b.entries))
	for _, e := range b.entries {
		out = append(out, e)
	}
	return out
}

// current returns the last committed revision of e.
func (e *entry) current() *jitv1.AccessRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.req
}

// checkCaller refuses a call without a verified subject.
func checkCaller(c Caller) error {
	if c.Subject == "" {
		return unauthenticated("the call carries no verified identity")
	}
	return nil
}
