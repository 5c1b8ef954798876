package brokerclient

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// DefaultMaxStaleness is the staleness bound when FollowOptions.MaxStaleness is zero.
const DefaultMaxStaleness = 15 * time.Second

// FollowOptions configures Follow.
type FollowOptions struct {
	// Mode says whether a stale view refuses grants (Strict, the zero value) or allows them (BestEffort).
	Mode Mode
	// MaxStaleness is how old the view (time since the last event or heartbeat) may be; zero means 15 s.
	MaxStaleness time.Duration
	// Clock is the verifier's clock, which dates what was heard; nil means the real clock.
	Clock clockwork.Clock
	// Retry is the reconnect backoff; its MaxAttempts is ignored, since a verifier never stops following.
	Retry Retry
}

// Revocations is a verifier's view of the broker's revocation feed. It
// implements token.Revocations: revoked grants are refused until they would
// have expired, and a view older than MaxStaleness refuses every grant
// (Strict) or is trusted anyway and counted (BestEffort).
type Revocations struct {
	client  jitv1.BrokerClient
	mode    Mode
	maxAge  time.Duration
	clock   clockwork.Clock
	backoff *backoff

	mu         sync.RWMutex
	revoked    map[string]revokedGrant // by jti
	lastHeard  time.Time               // zero: nothing heard yet, so stale
	sequence   uint64
	connected  bool
	lastErr    string
	nextExpiry time.Time // earliest grant_expires_at in revoked; zero when none

	staleAllows atomic.Int64
	ready       chan struct{}
	readyOnce   sync.Once
	done        chan struct{}
}

// revokedGrant is what the view keeps of one revocation.
type revokedGrant struct {
	expires   time.Time // zero: unknown, kept for good
	revokedAt time.Time
}

var _ token.Revocations = (*Revocations)(nil)

// Follow starts following client's revocation feed until ctx ends. It
// reconnects with backoff after any failure, resuming after the last
// sequence seen, so no revocation is missed or applied twice.
func Follow(ctx context.Context, client jitv1.BrokerClient, opts FollowOptions) *Revocations {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.MaxStaleness <= 0 {
		opts.MaxStaleness = DefaultMaxStaleness
	}
	opts.Retry.MaxAttempts = -1
	r := &Revocations{
		client:  client,
		mode:    opts.Mode,
		maxAge:  opts.MaxStaleness,
		clock:   opts.Clock,
		backoff: newBackoff(opts.Retry, opts.Clock),
		revoked: make(map[string]revokedGrant),
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	go r.run(ctx)
	return r
}

// Check implements token.Revocations. The allowed path takes a read lock and
// a map lookup, and allocates nothing: it runs on every protected call.
func (r *Revocations) Check(jti string, now time.Time) error {
	r.mu.RLock()
	g, revoked := r.revoked[jti]
	heard := r.lastHeard
	r.mu.RUnlock()
	if revoked && (g.expires.IsZero() || !now.After(g.expires)) {
		return reason.New(reason.GrantRevoked, "the grant was revoked after it was issued",
			"grant_id", jti, "revoked_at", g.revokedAt.UTC().Format(time.RFC3339))
	}
	if !heard.IsZero() && now.Sub(heard) <= r.maxAge {
		return nil
	}
	if r.mode == BestEffort {
		r.staleAllows.Add(1)
		return nil
	}
	age := "never heard"
	if !heard.IsZero() {
		age = now.Sub(heard).Round(time.Millisecond).String()
	}
	return reason.New(reason.RevocationViewStale,
		"the revocation view is older than its bound, so whether the grant was revoked is unknown",
		"view_age", age, "max_staleness", r.maxAge.String(), "mode", r.mode.String())
}

// StaleAllows returns how many grants BestEffort allowed on a stale view,
// so a report can say exactly what passed unchecked.
func (r *Revocations) StaleAllows() int64 { return r.staleAllows.Load() }

// RevocationStatus is a snapshot of a Revocations view.
type RevocationStatus struct {
	// LastHeard is when the latest event or heartbeat arrived (verifier's clock); zero if none yet.
	LastHeard time.Time
	// Sequence is the feed position resumed after on reconnect.
	Sequence uint64
	// Revoked counts revocations kept (grants not yet expired).
	Revoked int
	// Connected is true while a stream is delivering.
	Connected bool
	// LastError is the error that ended the latest stream, if any.
	LastError string
}

// Status returns a snapshot of the view.
func (r *Revocations) Status() RevocationStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return RevocationStatus{LastHeard: r.lastHeard, Sequence: r.sequence, Revoked: len(r.revoked),
		Connected: r.connected, LastError: r.lastErr}
}

// Wait blocks until the first event or heartbeat arrives, or ctx ends.
func (r *Revocations) Wait(ctx context.Context) error {
	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when following has stopped (its context ended).
func (r *Revocations) Done() <-chan struct{} { return r.done }

// run follows the feed, reconnecting until ctx ends.
func (r *Revocations) run(ctx context.Context) {
	defer close(r.done)
	failures := 0
	for {
		heard, err := r.stream(ctx)
		r.mu.Lock()
		r.connected = false
		if err != nil && ctx.Err() == nil {
			r.lastErr = describe(err)
		}
		r.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if heard {
			failures = 0
		}
		failures++
		if r.backoff.sleep(ctx, r.backoff.delay(failures)) != nil {
			return
		}
	}
}

// stream reads one WatchRevocations stream; heard says whether it delivered anything.
//
// A stream silent for the staleness bound is cut and opened again: a
// partition that drops packets instead of resetting the connection leaves
// Recv waiting on a dead connection for as long as TCP keeps it, and the
// view is stale by then anyway, so reconnecting costs nothing.
func (r *Revocations) stream(ctx context.Context) (heard bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silent := r.clock.AfterFunc(r.maxAge, func() { cancel(errSilent) })
	defer silent.Stop()
	r.mu.RLock()
	after := r.sequence
	r.mu.RUnlock()
	st, err := r.client.WatchRevocations(ctx, &jitv1.WatchRevocationsRequest{AfterSequence: after})
	if err != nil {
		return false, silentOr(ctx, err)
	}
	for {
		ev, err := st.Recv()
		if err == io.EOF {
			return heard, errStreamEnded
		}
		if err != nil {
			return heard, silentOr(ctx, err)
		}
		heard = true
		silent.Reset(r.maxAge)
		r.apply(ev)
	}
}

// errSilent ends a revocation stream that delivered nothing, not even a heartbeat, for the staleness bound.
var errSilent = errors.New("the revocation stream was silent for the staleness bound")

// silentOr returns errSilent when the watchdog cut the stream, else err.
func silentOr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errSilent) {
		return errSilent
	}
	return err
}

// apply records one event or heartbeat.
func (r *Revocations) apply(ev *jitv1.RevocationEvent) {
	now := r.clock.Now()
	r.mu.Lock()
	r.lastHeard = now
	r.connected = true
	r.lastErr = ""
	if ev.GetSequence() > r.sequence {
		r.sequence = ev.GetSequence()
	}
	if !ev.GetHeartbeat() && ev.GetGrantId() != "" {
		g := revokedGrant{}
		if ev.GetGrantExpiresAt() != nil {
			g.expires = ev.GetGrantExpiresAt().AsTime()
		}
		if ev.GetRevokedAt() != nil {
			g.revokedAt = ev.GetRevokedAt().AsTime()
		}
		r.revoked[ev.GetGrantId()] = g
		if !g.expires.IsZero() && (r.nextExpiry.IsZero() || g.expires.Before(r.nextExpiry)) {
			r.nextExpiry = g.expires
		}
	}
	if !r.nextExpiry.IsZero() && now.After(r.nextExpiry) {
		r.forgetExpired(now)
	}
	r.mu.Unlock()
	r.readyOnce.Do(func() { close(r.ready) })
}

// forgetExpired drops revocations of grants expired at now: expiry alone
// refuses them from then on. It runs only once the earliest expiry passed,
// so a heartbeat usually costs no scan. Callers hold r.mu.
func (r *Revocations) forgetExpired(now time.Time) {
	r.nextExpiry = time.Time{}
	for jti, g := range r.revoked {
		switch {
		case g.expires.IsZero():
		case now.After(g.expires):
			delete(r.revoked, jti)
		case r.nextExpiry.IsZero() || g.expires.Before(r.nextExpiry):
			r.nextExpiry = g.expires
		}
	}
}
