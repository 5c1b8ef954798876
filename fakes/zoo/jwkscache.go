package zoo

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"google.golang.org/grpc/codes"
)

// The oauth-scope service's key cache settings.
const (
	// jwksMaxAge is how long a fetched key set is used before it is fetched
	// again, unless Options.JWKSMaxAge says otherwise.
	jwksMaxAge = 5 * time.Minute
	// jwksUnknownKidTTL is how long a kid found unknown is not looked up again.
	jwksUnknownKidTTL = 30 * time.Second
	// jwksMaxRefetches fetches per jwksRefetchWindow at most, however many
	// unknown kids arrive: the IdP is not hammered on an attacker's behalf.
	jwksMaxRefetches  = 10
	jwksRefetchWindow = time.Minute
	// jwksMaxUnknownKids bounds the memory of unknown kids.
	jwksMaxUnknownKids = 1024
)

// errUnknownKid is a kid the key set does not hold.
var errUnknownKid = errors.New("unknown kid")

// jwksCache is the oauth-scope service's view of its IdP's key set: fetched
// when first needed and used for its maximum age; an unknown kid makes it fetch
// early, unless that kid was unknown in the last jwksUnknownKidTTL or the
// last jwksRefetchWindow saw jwksMaxRefetches fetches. When the IdP is down,
// a set fetched before is still used (warm cache); with none (cold), calls
// are UNAVAILABLE, or DEADLINE_EXCEEDED when the call's deadline ran out.
type jwksCache struct {
	url    string
	client *http.Client
	now    func() time.Time
	maxAge time.Duration

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey
	fetched time.Time            // last success; zero: cold
	recent  []time.Time          // fetch attempts within the refetch window
	unknown map[string]time.Time // kid → when it was found unknown
	flight  chan struct{}        // closed when the fetch in flight ends; nil when none
	lastErr error                // the outcome of the last fetch
}

func newJWKSCache(url string, client *http.Client, now func() time.Time, maxAge time.Duration) *jwksCache {
	return &jwksCache{url: url, client: client, now: now, maxAge: maxAge, unknown: make(map[string]time.Time)}
}

// lookup returns the key kid names.
func (c *jwksCache) lookup(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	if c.shouldFetch(kid) {
		err := c.fetch(ctx)
		c.mu.Lock()
		k, known := c.keys[kid]
		cold := c.fetched.IsZero()
		c.mu.Unlock()
		switch {
		case known:
			return k, nil // a fresh set, or the old one while the IdP is down
		case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
			return jose.JSONWebKey{}, err
		case err != nil && cold:
			return jose.JSONWebKey{}, refuseWith(codes.Unavailable, "the identity provider's keys could not be fetched")
		case err != nil:
			return jose.JSONWebKey{}, refuseWith(codes.Unavailable, "the token's kid is unknown and the identity provider's keys could not be fetched")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, known := c.keys[kid]
	if !known {
		if len(c.unknown) < jwksMaxUnknownKids {
			c.unknown[kid] = c.now()
		}
		return jose.JSONWebKey{}, errUnknownKid
	}
	return k, nil
}

// shouldFetch decides whether looking up kid fetches the set first.
func (c *jwksCache) shouldFetch(kid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.fetched.IsZero() {
		return true // cold: nothing to answer with
	}
	for k, at := range c.unknown {
		if now.Sub(at) >= jwksUnknownKidTTL {
			delete(c.unknown, k)
		}
	}
	_, known := c.keys[kid]
	_, recentlyUnknown := c.unknown[kid]
	due := now.Sub(c.fetched) >= c.maxAge || (!known && !recentlyUnknown)
	if !due {
		return false
	}
	kept := c.recent[:0]
	for _, at := range c.recent {
		if now.Sub(at) < jwksRefetchWindow {
			kept = append(kept, at)
		}
	}
	c.recent = kept
	return len(c.recent) < jwksMaxRefetches
}

// all returns every cached key, fetching the set when cold.
func (c *jwksCache) all(ctx context.Context) []jose.JSONWebKey {
	c.mu.Lock()
	cold := c.fetched.IsZero()
	c.mu.Unlock()
	if cold {
		_ = c.fetch(ctx) // a failure leaves the list empty
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]jose.JSONWebKey, 0, len(c.keys))
	for _, k := range c.keys {
		out = append(out, k)
	}
	return out
}

// fetch fetches the set once for everyone waiting, within ctx.
func (c *jwksCache) fetch(ctx context.Context) error {
	c.mu.Lock()
	if c.flight != nil {
		flight := c.flight
		c.mu.Unlock()
		select {
		case <-flight:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.lastErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	flight := make(chan struct{})
	c.flight = flight
	c.recent = append(c.recent, c.now())
	c.mu.Unlock()

	set, err := fetchJWKS(ctx, c.client, c.url)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.keys = make(map[string]jose.JSONWebKey, len(set.Keys))
		for _, k := range set.Keys {
			if k.KeyID != "" {
				c.keys[k.KeyID] = k
				delete(c.unknown, k.KeyID)
			}
		}
		c.fetched = c.now()
	}
	c.lastErr = err
	c.flight = nil
	close(flight)
	return err
}
