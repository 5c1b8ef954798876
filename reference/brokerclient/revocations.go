package brokerclient

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/protobuf/types/known/durationpb"

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
	// MaxStaleness is how old the view (time since it was last known current) may be; zero means 15 s.
	MaxStaleness time.Duration
	// Clock is the verifier's clock, which dates what was heard; nil means the real clock.
	Clock clockwork.Clock
	// Retry is the reconnect backoff; its MaxAttempts is ignored, since a verifier never stops following.
	Retry Retry
	// Leeway is the clock-skew leeway of the verifier the view serves, which
	// accepts a grant until exp plus leeway: a revocation is kept until then.
	// Zero (or negative) means token.DefaultLeeway, the verifiers' default.
	Leeway time.Duration
}

// Revocations is a verifier's view of the broker's revocation feed. It
// implements token.Revocations: revoked grants are refused until the
// verifier would refuse them as expired (exp plus its leeway), and a view
// older than MaxStaleness refuses every grant (Strict) or is trusted anyway
// and counted (BestEffort). It also passes on the key set the feed
// announces (AnnouncedKeySet), so a KeySource learns of a retired key as
// fast as of a revocation.
//
// The view is current as of the latest heartbeat: the broker sends one
// after replaying what the follower missed, and on a live stream every
// event counts too. A feed in a new epoch (a broker that restarted without
// its store) is replayed from the start, and the view is stale until that
// replay's heartbeat; revocations heard in the old epoch are kept, since
// the new broker may no longer know them.
type Revocations struct {
	client  jitv1.BrokerClient
	mode    Mode
	maxAge  time.Duration
	leeway  time.Duration
	clock   clockwork.Clock
	backoff *backoff

	mu           sync.RWMutex
	revoked      map[string]revokedGrant // by jti
	lastHeard    time.Time               // zero: not current yet, so stale
	epoch        string                  // the epoch sequence counts in
	sequence     uint64
	epochChanges int
	received     uint64 // events and heartbeats applied
	keySetID     string // the key set the feed announced last
	keyGen       uint64 // counts changes of keySetID
	connected    bool
	lastErr      string
	nextForget   time.Time // earliest forgetAt in revoked; zero when none

	staleAllows atomic.Int64
	ready       chan struct{}
	readyOnce   sync.Once
	done        chan struct{}
}

// revokedGrant is what the view keeps of one revocation.
type revokedGrant struct {
	forgetAt  time.Time // exp plus the leeway; zero: expiry unknown, kept for good
	revokedAt time.Time
}

var _ token.Revocations = (*Revocations)(nil)

// Follow starts following client's revocation feed until ctx ends. It
// reconnects with backoff after any failure, resuming after the last
// sequence seen in the feed's epoch, so no revocation is missed.
func Follow(ctx context.Context, client jitv1.BrokerClient, opts FollowOptions) *Revocations {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.MaxStaleness <= 0 {
		opts.MaxStaleness = DefaultMaxStaleness
	}
	if opts.Leeway <= 0 {
		opts.Leeway = token.DefaultLeeway
	}
	opts.Retry.MaxAttempts = -1
	r := &Revocations{
		client:  client,
		mode:    opts.Mode,
		maxAge:  opts.MaxStaleness,
		leeway:  opts.Leeway,
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
	if revoked && (g.forgetAt.IsZero() || !now.After(g.forgetAt)) {
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
	// LastHeard is when the view was last known current (verifier's clock); zero while it is not.
	LastHeard time.Time
	// Epoch is the feed epoch Sequence counts in.
	Epoch string
	// Sequence is the feed position resumed after on reconnect.
	Sequence uint64
	// EpochChanges counts the times the feed's epoch changed after the first (brokers restarted without their store).
	EpochChanges int
	// KeySetID is the key set the feed announced last; empty if none.
	KeySetID string
	// Revoked counts revocations kept (grants not yet past exp plus leeway).
	Revoked int
	// Received counts the events and heartbeats applied since Follow.
	Received uint64
	// Connected is true while a stream is delivering.
	Connected bool
	// LastError is the error that ended the latest stream, if any.
	LastError string
}

// Status returns a snapshot of the view.
func (r *Revocations) Status() RevocationStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return RevocationStatus{LastHeard: r.lastHeard, Epoch: r.epoch, Sequence: r.sequence,
		EpochChanges: r.epochChanges, KeySetID: r.keySetID, Revoked: len(r.revoked), Received: r.received,
		Connected: r.connected, LastError: r.lastErr}
}

// AnnouncedKeySet implements KeyAnnouncer: the id of the key set the feed
// announced last (empty before any) and a counter that grows when it changes.
func (r *Revocations) AnnouncedKeySet() (id string, gen uint64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keySetID, r.keyGen
}

// Wait blocks until the view is first current (the first heartbeat), or ctx ends.
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
	in := &jitv1.WatchRevocationsRequest{AfterSequence: r.sequence, Epoch: r.epoch, Leeway: durationpb.New(r.leeway)}
	r.mu.RUnlock()
	st, err := r.client.WatchRevocations(ctx, in)
	if err != nil {
		return false, silentOr(ctx, err)
	}
	var s streamState
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
		if err := r.apply(ev, &s); err != nil {
			return heard, err
		}
	}
}

// streamState is what the follower tracks of one stream.
type streamState struct {
	started bool   // an event arrived
	epoch   string // the epoch of its first event
	current bool   // a heartbeat arrived: the replay is over
}

// errEpochChanged ends a stream whose epoch changed midway, which a broker
// never does (a new epoch means a new broker, hence a new stream).
var errEpochChanged = errors.New("the revocation feed changed epoch within a stream")

// errSilent ends a revocation stream that delivered nothing, not even a heartbeat, for the staleness bound.
var errSilent = errors.New("the revocation stream was silent for the staleness bound")

// silentOr returns errSilent when the watchdog cut the stream, else err.
func silentOr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errSilent) {
		return errSilent
	}
	return err
}

// apply records one event or heartbeat of stream s.
func (r *Revocations) apply(ev *jitv1.RevocationEvent, s *streamState) error {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !s.started:
		s.started, s.epoch = true, ev.GetEpoch()
		if ev.GetEpoch() != r.epoch {
			// The broker replays a new epoch from the start (the request
			// named the old one). Until that replay's heartbeat the view
			// lacks revocations of the new epoch, so it is not current.
			if r.epoch != "" || r.sequence != 0 {
				r.epochChanges++
			}
			r.epoch, r.sequence, r.lastHeard = ev.GetEpoch(), 0, time.Time{}
		}
	case ev.GetEpoch() != s.epoch:
		// Start over from the beginning on a new stream.
		r.epochChanges++
		r.epoch, r.sequence, r.lastHeard = "", 0, time.Time{}
		return errEpochChanged
	}
	r.received++
	r.connected = true
	r.lastErr = ""
	if ev.GetSequence() > r.sequence {
		r.sequence = ev.GetSequence()
	}
	if ev.GetHeartbeat() {
		s.current = true
		if id := ev.GetKeySetId(); id != "" && id != r.keySetID {
			r.keySetID = id
			r.keyGen++
		}
	} else if ev.GetGrantId() != "" {
		r.remember(ev)
	}
	if s.current {
		// Events replayed before the heartbeat do not make the view
		// current: later ones of the same replay are still to come.
		r.lastHeard = now
		r.readyOnce.Do(func() { close(r.ready) })
	}
	if !r.nextForget.IsZero() && now.After(r.nextForget) {
		r.forgetExpired(now)
	}
	return nil
}

// remember records the revocation ev. Callers hold r.mu.
func (r *Revocations) remember(ev *jitv1.RevocationEvent) {
	g := revokedGrant{}
	if ev.GetGrantExpiresAt() != nil {
		g.forgetAt = ev.GetGrantExpiresAt().AsTime().Add(r.leeway)
	}
	if ev.GetRevokedAt() != nil {
		g.revokedAt = ev.GetRevokedAt().AsTime()
	}
	r.revoked[ev.GetGrantId()] = g
	if !g.forgetAt.IsZero() && (r.nextForget.IsZero() || g.forgetAt.Before(r.nextForget)) {
		r.nextForget = g.forgetAt
	}
}

// forgetExpired drops revocations of grants past exp plus the leeway at
// now: the verifier refuses them as expired from then on. It runs only once
// the earliest such instant passed, so a heartbeat usually costs no scan.
// Callers hold r.mu.
func (r *Revocations) forgetExpired(now time.Time) {
	r.nextForget = time.Time{}
	for jti, g := range r.revoked {
		switch {
		case g.forgetAt.IsZero():
		case now.After(g.forgetAt):
			delete(r.revoked, jti)
		case r.nextForget.IsZero() || g.forgetAt.Before(r.nextForget):
			r.nextForget = g.forgetAt
		}
	}
}
