package brokerclient

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Defaults of KeySourceOptions, applied to its zero fields.
const (
	DefaultMinRefresh   = 10 * time.Second
	DefaultKeyTTL       = 5 * time.Minute
	DefaultFetchTimeout = 2 * time.Second
)

// KeySourceOptions configures a KeySource.
type KeySourceOptions struct {
	// MinRefresh is the least time between two fetches, whatever asks for them; zero means 10 s.
	MinRefresh time.Duration
	// TTL is how long fetched keys are used before a background refresh; zero means 5 min.
	TTL time.Duration
	// FetchTimeout bounds one Keys call, since Lookup has no context of its own; zero means 2 s.
	FetchTimeout time.Duration
	// Clock times fetches, TTL and MinRefresh; nil means the real clock.
	Clock clockwork.Clock
	// Announcer, when set, says which key set the broker publishes now (the
	// revocation follower does, from the feed): keys are fetched again as
	// soon as it changes, so a retired or removed key stops verifying within
	// the feed's staleness bound rather than at the next TTL refresh.
	Announcer KeyAnnouncer
	// Mode says what a lookup does when the announced key set could not be
	// fetched: refuse with REVOCATION_VIEW_STALE (Strict, the zero value) or
	// use the cached keys and count it (BestEffort), as for revocations.
	Mode Mode
}

// KeyAnnouncer tells a KeySource which key set the broker publishes now;
// *Revocations is one.
type KeyAnnouncer interface {
	// AnnouncedKeySet returns the announced set's id (empty before any) and a counter that grows whenever it changes.
	AnnouncedKeySet() (id string, gen uint64)
}

// KeySource is a verifier's copy of the broker's public keys. It implements
// token.KeyResolver: it fetches the keys on first use, again when a token
// names an unknown kid (a rotation), and in the background once the TTL
// passes, never more than once per MinRefresh, so tokens with made-up kids
// cannot turn into a flood of fetches.
//
// While the broker is unreachable it keeps serving the keys it has (a warm
// cache keeps verifying, conformance OUT-003); with none cached it answers
// BROKER_UNAVAILABLE, so the verifier denies with UNAVAILABLE rather than
// blaming the token (OUT-002).
//
// With an Announcer, a lookup first checks that the cached keys are at
// least as new as the key set announced: if not, it fetches them at once
// (once per announcement, then per MinRefresh while fetches fail), and
// while they cannot be fetched a strict source refuses every token.
type KeySource struct {
	client jitv1.BrokerClient
	opts   KeySourceOptions

	fetchMu    sync.Mutex  // one fetch at a time
	refreshing atomic.Bool // a background refresh is running

	staleAllows atomic.Int64

	mu        sync.RWMutex
	set       *token.KeySet // nil until the first successful fetch
	setID     string        // the broker's id of set
	fetchGen  uint64        // the announcement counter when the fetch of set began
	triedGen  uint64        // the announcement counter when the latest fetch began
	fetchedAt time.Time
	triedAt   time.Time
	fetches   int
	lastErr   error
}

var _ token.KeyResolver = (*KeySource)(nil)

// NewKeySource returns a KeySource fetching from client; it fetches nothing until asked.
func NewKeySource(client jitv1.BrokerClient, opts KeySourceOptions) *KeySource {
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = DefaultMinRefresh
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultKeyTTL
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	return &KeySource{client: client, opts: opts}
}

// Lookup implements token.KeyResolver.
func (k *KeySource) Lookup(kid string, now time.Time) (*token.Key, error) {
	if err := k.catchUp(); err != nil {
		return nil, err
	}
	set, expired := k.current()
	if set != nil {
		if key, err := set.Lookup(kid, now); err == nil {
			if expired {
				k.refreshInBackground() // serve the cached key meanwhile: no call waits for the broker
			}
			return key, nil
		}
	}
	// A cold cache, or an unknown kid: perhaps a key the broker rotated to since the last fetch.
	k.refreshIfDue(context.Background())
	set, _ = k.current()
	if set == nil {
		return nil, k.unavailable()
	}
	key, err := set.Lookup(kid, now)
	var e *reason.Error
	if errors.As(err, &e) {
		if last := k.lastError(); last != nil {
			e.Set("key_refresh_error", describe(last)) // the kid may be one the broker has but could not send
		}
	}
	return key, err
}

// Refresh fetches the keys now, whatever MinRefresh says: for startup, so
// the first call does not wait for the fetch.
func (k *KeySource) Refresh(ctx context.Context) error {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	return k.fetch(ctx)
}

// catchUp fetches the keys when the announced key set is newer than the
// cached one, and reports a cache still behind it per the mode. A cold
// cache is left to Lookup, which answers BROKER_UNAVAILABLE without keys.
func (k *KeySource) catchUp() error {
	if k.opts.Announcer == nil {
		return nil
	}
	id, gen := k.opts.Announcer.AnnouncedKeySet()
	if id == "" || k.caughtUp(id, gen) {
		return nil
	}
	k.fetchAnnounced(gen)
	if id, gen = k.opts.Announcer.AnnouncedKeySet(); k.caughtUp(id, gen) {
		return nil
	}
	if k.opts.Mode == BestEffort {
		k.staleAllows.Add(1)
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	e := reason.New(reason.RevocationViewStale,
		"the broker announced a change of its signing keys that could not be fetched, so whether the token's key was retired is unknown",
		"announced_key_set", id, "cached_key_set", k.setID, "mode", k.opts.Mode.String())
	if k.lastErr != nil {
		e.Set("key_refresh_error", describe(k.lastErr))
	}
	return e
}

// caughtUp says whether the cache holds the announced set id, or one
// fetched after announcement gen was heard (the same or newer). A cold
// cache counts as caught up: Lookup handles it.
func (k *KeySource) caughtUp(id string, gen uint64) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set == nil || k.setID == id || k.fetchGen >= gen
}

// fetchAnnounced fetches the keys for announcement gen, unless a fetch
// began after it was heard, or one for it failed within MinRefresh: the
// broker announces changes, so this costs one fetch per change.
func (k *KeySource) fetchAnnounced(gen uint64) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	done := k.fetchGen >= gen
	failedRecently := k.triedGen >= gen && k.opts.Clock.Since(k.triedAt) < k.opts.MinRefresh
	k.mu.RUnlock()
	if done || failedRecently {
		return
	}
	_ = k.fetch(context.Background()) // its error is kept for Status and for the lookup's metadata
}

// StaleAllows returns how many lookups BestEffort answered from keys older
// than the announced key set.
func (k *KeySource) StaleAllows() int64 { return k.staleAllows.Load() }

// KeySourceStatus is a snapshot of a KeySource.
type KeySourceStatus struct {
	// Keys counts the cached keys; zero while the cache is cold.
	Keys int
	// KeySetID is the broker's id of the cached keys; empty if it sent none.
	KeySetID string
	// FetchedAt is when the cached keys were fetched; TriedAt when a fetch was last tried.
	FetchedAt, TriedAt time.Time
	// Fetches counts Keys calls, failed ones included.
	Fetches int
	// LastError is why the latest fetch failed; empty after a success.
	LastError string
}

// Status returns a snapshot of the source.
func (k *KeySource) Status() KeySourceStatus {
	k.mu.RLock()
	defer k.mu.RUnlock()
	s := KeySourceStatus{KeySetID: k.setID, FetchedAt: k.fetchedAt, TriedAt: k.triedAt, Fetches: k.fetches}
	if k.set != nil {
		s.Keys = len(k.set.Keys())
	}
	if k.lastErr != nil {
		s.LastError = describe(k.lastErr)
	}
	return s
}

// current returns the cached set and whether its TTL has passed.
func (k *KeySource) current() (*token.KeySet, bool) {
	now := k.opts.Clock.Now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set, k.set != nil && now.Sub(k.fetchedAt) >= k.opts.TTL
}

func (k *KeySource) lastError() error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.lastErr
}

// refreshIfDue fetches unless a fetch was tried within MinRefresh. Callers
// that queued behind a running fetch find it recent and use its result.
func (k *KeySource) refreshIfDue(ctx context.Context) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	tried := k.triedAt
	k.mu.RUnlock()
	if !tried.IsZero() && k.opts.Clock.Since(tried) < k.opts.MinRefresh {
		return
	}
	_ = k.fetch(ctx) // its error is kept for Status and for the lookup's metadata
}

// refreshInBackground starts refreshIfDue unless one is running already.
func (k *KeySource) refreshInBackground() {
	if !k.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer k.refreshing.Store(false)
		k.refreshIfDue(context.Background()) // bounded by FetchTimeout
	}()
}

// fetch calls Keys and replaces the cache on success. Callers hold fetchMu.
func (k *KeySource) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.opts.FetchTimeout)
	defer cancel()
	// Read before asking: the answer is at least as new as this announcement.
	var gen uint64
	if k.opts.Announcer != nil {
		_, gen = k.opts.Announcer.AnnouncedKeySet()
	}
	var set *token.KeySet
	resp, err := k.client.Keys(ctx, &jitv1.KeysRequest{})
	if err == nil {
		set, err = token.ParseKeySet([]byte(resp.GetJwks()))
		if err != nil {
			err = fmt.Errorf("the broker's key set does not parse%w", err) // ParseKeySet's errors start with ":"
		}
	}
	now := k.opts.Clock.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.triedAt, k.triedGen = now, gen
	k.fetches++
	k.lastErr = err
	if err == nil {
		k.set, k.setID, k.fetchedAt, k.fetchGen = set.Public(), resp.GetKeySetId(), now, gen
	}
	return err
}

// unavailable is the error of a lookup with a cold cache and no fresh keys.
func (k *KeySource) unavailable() error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	e := reason.New(reason.BrokerUnavailable,
		"the broker's signing keys could not be fetched and none are cached, so no token can be verified",
		"fetches", strconv.Itoa(k.fetches))
	if k.lastErr != nil {
		e.Set("last_error", describe(k.lastErr))
	}
	if !k.triedAt.IsZero() {
		e.Set("next_fetch_after", k.triedAt.Add(k.opts.MinRefresh).UTC().Format(time.RFC3339))
	}
	return e
}
