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
type KeySource struct {
	client jitv1.BrokerClient
	opts   KeySourceOptions

	fetchMu    sync.Mutex  // one fetch at a time
	refreshing atomic.Bool // a background refresh is running

	mu        sync.RWMutex
	set       *token.KeySet // nil until the first successful fetch
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

// KeySourceStatus is a snapshot of a KeySource.
type KeySourceStatus struct {
	// Keys counts the cached keys; zero while the cache is cold.
	Keys int
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
	s := KeySourceStatus{FetchedAt: k.fetchedAt, TriedAt: k.triedAt, Fetches: k.fetches}
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
	k.triedAt = now
	k.fetches++
	k.lastErr = err
	if err == nil {
		k.set, k.fetchedAt = set.Public(), now
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
