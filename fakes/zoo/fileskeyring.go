package zoo

import (
	"context"
	"crypto/ecdsa"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc/codes"
)

// The files team's grant key refresher settings (scp-array with a JWKS URL).
const (
	// filesJWKSRefresh is how often the key set is fetched in the
	// background, unless Options.JWKSRefresh says otherwise.
	filesJWKSRefresh = time.Minute
	// filesJWKSCooldown is the least time between the starts of two fetches
	// when a kid nobody knows asks for one early (never more than the
	// refresh interval): a flood of made-up kids costs the key source at
	// most one fetch per cooldown.
	filesJWKSCooldown = 200 * time.Millisecond
	// filesJWKSFetchTimeout bounds one fetch, whatever the HTTP client's timeout.
	filesJWKSFetchTimeout = 10 * time.Second
)

// filesKeyring is the files team's view of a JWKS of grant keys: fetched
// once at start and then by a goroutine of its own every interval; a fetch
// that fails keeps the last good set (an empty one when none ever
// succeeded). A grant whose kid the set lacks waits, within its call's
// deadline, for a fetch that starts after it asked (early, but no sooner
// than the cooldown after the last fetch started; every caller waiting
// then shares that one fetch), and is refused if the kid is still unknown:
// UNAVAILABLE when that fetch failed.
type filesKeyring struct {
	url      string
	client   *http.Client
	clock    clockwork.Clock
	interval time.Duration
	cooldown time.Duration

	ctx    context.Context // ends at close, with any fetch in flight
	cancel context.CancelFunc
	done   chan struct{} // closed when the refresher has returned
	wake   chan struct{} // one pending early request; drained by each fetch
	closed sync.Once

	lastStart time.Time // the refresher's own: when the last fetch started

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	lastErr error         // the last fetch's failure, nil after a success
	pending chan struct{} // closed when the next fetch to start has ended
	waiting int           // callers waiting for a fetch
}

// newFilesKeyring fetches the set at url once (a failure leaves it empty,
// for the refresher to retry) and starts refreshing it every interval on clock.
func newFilesKeyring(url string, client *http.Client, clock clockwork.Clock, interval time.Duration) *filesKeyring {
	ctx, cancel := context.WithCancel(context.Background())
	r := &filesKeyring{url: url, client: client, clock: clock, interval: interval, cooldown: min(filesJWKSCooldown, interval),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1), pending: make(chan struct{})}
	r.refresh()
	go r.run()
	return r
}

func (r *filesKeyring) key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	r.mu.Lock()
	if k, ok := r.keys[kid]; ok {
		r.mu.Unlock()
		return k, nil
	}
	answered := r.pending
	r.waiting++
	select {
	case r.wake <- struct{}{}: // asked under mu, so the fetch that drains it is the one that answers
	default: // asked already
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.waiting--
		r.mu.Unlock()
	}()
	select {
	case <-answered:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.ctx.Done():
		return nil, refuseWith(codes.Unavailable, "the service is stopping")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[kid]; ok {
		return k, nil
	}
	if r.lastErr != nil {
		return nil, refuseWith(codes.Unavailable, "the grant's kid is unknown and the grant keys could not be refreshed")
	}
	return nil, errNoGrantKey
}

func (r *filesKeyring) all() []*ecdsa.PublicKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*ecdsa.PublicKey, 0, len(r.keys))
	for _, k := range r.keys {
		out = append(out, k)
	}
	return out
}

// close stops the refresher, ending a fetch in flight, and waits for it.
func (r *filesKeyring) close() {
	r.closed.Do(func() {
		r.cancel()
		<-r.done
	})
}

// run fetches the set whenever sleep says so, until close.
func (r *filesKeyring) run() {
	defer close(r.done)
	for r.sleep() {
		r.refresh()
	}
}

// sleep waits until the interval since the last fetch has passed, or a
// caller asked early and the cooldown since the last fetch has passed;
// false once the keyring is closed.
func (r *filesKeyring) sleep() bool {
	due := r.clock.NewTimer(r.clock.Until(r.lastStart.Add(r.interval)))
	defer due.Stop()
	select {
	case <-r.ctx.Done():
		return false
	case <-due.Chan():
		return true
	case <-r.wake:
	}
	wait := r.clock.Until(r.lastStart.Add(r.cooldown))
	if wait <= 0 {
		return true
	}
	cool := r.clock.NewTimer(wait)
	defer cool.Stop()
	select {
	case <-r.ctx.Done():
		return false
	case <-due.Chan():
	case <-cool.Chan():
	}
	return true
}

// refresh fetches the set once, keeping the last good one on failure, and
// answers the callers that asked before it started.
func (r *filesKeyring) refresh() {
	r.mu.Lock()
	answered := r.pending
	r.pending = make(chan struct{})
	select {
	case <-r.wake: // whoever asked is answered by this fetch
	default:
	}
	r.mu.Unlock()
	r.lastStart = r.clock.Now()

	ctx, cancel := context.WithTimeout(r.ctx, filesJWKSFetchTimeout)
	keys, err := filesFetchKeys(ctx, r.client, r.url)
	cancel()

	r.mu.Lock()
	if err == nil {
		r.keys = keys
	}
	r.lastErr = err
	r.mu.Unlock()
	close(answered)
}

// waitingCallers counts the callers waiting for a fetch (for tests).
func (r *filesKeyring) waitingCallers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waiting
}
