package zoo

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

// keyringFixture is a files keyring on a fake clock, reading a JWKS server.
type keyringFixture struct {
	srv   *JWKSServer
	clock *clockwork.FakeClock
	ring  *filesKeyring
	keys  map[string]*Signer // by kid
}

const testRefresh = time.Minute

// newKeyringFixture serves the kids' fresh ES256 keys and starts a keyring
// on them, waiting until its refresher sleeps.
func newKeyringFixture(t *testing.T, kids ...string) *keyringFixture {
	t.Helper()
	f := &keyringFixture{clock: clockwork.NewFakeClock(), keys: map[string]*Signer{}}
	var err error
	f.srv, err = NewJWKSServer(jose.JSONWebKeySet{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, f.srv.Close()) })
	for _, kid := range kids {
		f.publish(t, kid)
	}
	f.ring = newFilesKeyring(f.srv.URL, defaultHTTPClient(), f.clock, testRefresh)
	t.Cleanup(f.ring.close)
	f.asleep(t)
	return f
}

// publish serves a fresh key under kid.
func (f *keyringFixture) publish(t *testing.T, kid string) {
	t.Helper()
	s, err := GenerateSigner(ES256, kid)
	require.NoError(t, err)
	f.keys[kid] = s
	f.srv.Publish(jose.JSONWebKey{Key: s.Public(), KeyID: kid, Algorithm: ES256, Use: "sig"})
}

// asleep waits until the refresher waits for its interval (and, with
// cooling, for its cooldown too): nothing fetches until the clock moves.
func (f *keyringFixture) asleep(t *testing.T, cooling ...bool) {
	t.Helper()
	n := 1
	if len(cooling) > 0 && cooling[0] {
		n = 2
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.clock.BlockUntilContext(ctx, n), "the refresher never slept")
}

// lookup asks the keyring for kid with a safety-net deadline.
func (f *keyringFixture) lookup(t *testing.T, kid string) (*ecdsa.PublicKey, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return f.ring.key(ctx, kid)
}

// known asserts kid is the key served under it.
func (f *keyringFixture) known(t *testing.T, kid string) {
	t.Helper()
	k, err := f.lookup(t, kid)
	require.NoError(t, err, kid)
	assert.True(t, k.Equal(f.keys[kid].Public()), "%s is the served key", kid)
}

// lookupLater starts a lookup of kid that must wait for a fetch.
func (f *keyringFixture) lookupLater(t *testing.T, kid string) <-chan error {
	t.Helper()
	out := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := f.ring.key(ctx, kid)
		out <- err
	}()
	return out
}

// code is the gRPC code a keyring error stands for, OK for none.
func code(err error) codes.Code {
	var r *refusal
	if errors.As(err, &r) {
		return r.code
	}
	if err != nil {
		return codes.Unknown
	}
	return codes.OK
}

// TestKeyringRefreshesOnItsInterval: the set is fetched once at start and
// then once per interval, without any lookup asking; a key added is
// honoured and a key removed refused after the next refresh, and not
// before it.
func TestKeyringRefreshesOnItsInterval(t *testing.T) {
	f := newKeyringFixture(t, "k1")
	f.known(t, "k1")
	f.known(t, "k1")
	assert.Equal(t, int64(1), f.srv.Fetches(), "fetched at start; a known kid fetches nothing")

	f.publish(t, "k2")
	f.srv.Retire("k1")
	f.clock.Advance(testRefresh - time.Second)
	f.known(t, "k1") // still the set fetched at start
	assert.Equal(t, int64(1), f.srv.Fetches())

	f.clock.Advance(time.Second)
	f.asleep(t) // the refresh is done
	assert.Equal(t, int64(2), f.srv.Fetches(), "one fetch per interval")
	f.known(t, "k2")
	assert.Equal(t, int64(2), f.srv.Fetches(), "the added key came with the refresh, not on demand")

	f.clock.Advance(filesJWKSCooldown) // let k1's lookup fetch at once
	_, err := f.lookup(t, "k1")
	require.ErrorIs(t, err, errNoGrantKey, "the removed key is refused")
	assert.Equal(t, int64(3), f.srv.Fetches(), "an unknown kid fetched once more")
	assert.Len(t, f.ring.all(), 1)

	f.asleep(t)
	f.clock.Advance(testRefresh)
	f.asleep(t)
	assert.Equal(t, int64(4), f.srv.Fetches(), "the interval runs from the last fetch")
}

// TestKeyringUnknownKidIsRateLimited: an unknown kid waits for a fetch
// that starts after it asked, no sooner than the cooldown after the last
// fetch; however many unknown kids wait, they share one fetch.
func TestKeyringUnknownKidIsRateLimited(t *testing.T) {
	f := newKeyringFixture(t, "k1")
	f.clock.Advance(filesJWKSCooldown)
	f.publish(t, "k2")
	f.known(t, "k2") // the last fetch was a cooldown ago: fetched at once
	assert.Equal(t, int64(2), f.srv.Fetches())

	const callers = 8
	f.publish(t, "k3")
	answers := make([]<-chan error, callers)
	for i := range answers {
		kid := fmt.Sprintf("made-up-%d", i)
		if i == 0 {
			kid = "k3"
		}
		answers[i] = f.lookupLater(t, kid)
	}
	require.Eventually(t, func() bool { return f.ring.waitingCallers() == callers }, 10*time.Second, time.Millisecond,
		"every caller waits for a fetch")
	f.asleep(t, true)
	assert.Equal(t, int64(2), f.srv.Fetches(), "no fetch before the cooldown has passed")

	f.clock.Advance(filesJWKSCooldown)
	for i, answer := range answers {
		err := <-answer
		if i == 0 {
			assert.NoError(t, err, "k3 came with the fetch")
			continue
		}
		assert.ErrorIs(t, err, errNoGrantKey, "caller %d", i)
	}
	assert.Equal(t, int64(3), f.srv.Fetches(), "one fetch answered every caller")
	assert.Zero(t, f.ring.waitingCallers())
}

// TestKeyringKeepsLastGoodSet: while the URL fails, the refresher keeps the
// set it had (a valid kid still verifies) and an unknown kid is
// UNAVAILABLE; a set that fails to parse is no better than none; once the
// URL is back, a refresh takes the new set.
func TestKeyringKeepsLastGoodSet(t *testing.T) {
	f := newKeyringFixture(t, "k1")
	restore := f.srv.Down()
	f.clock.Advance(testRefresh)
	f.asleep(t) // the failed refresh is done
	assert.Equal(t, int64(2), f.srv.Fetches())
	f.known(t, "k1")

	f.publish(t, "k2")
	f.clock.Advance(filesJWKSCooldown)
	_, err := f.lookup(t, "k2")
	assert.Equal(t, codes.Unavailable, code(err), "an unknown kid while the keys cannot be fetched: %v", err)
	f.known(t, "k1")

	restore()
	f.clock.Advance(filesJWKSCooldown)
	f.known(t, "k2")
	f.known(t, "k1")

	f.srv.Retire("k1")
	f.srv.Retire("k2") // an empty set is refused as if the URL failed
	f.asleep(t)
	f.clock.Advance(testRefresh)
	f.asleep(t)
	f.known(t, "k1")
	f.known(t, "k2")
}

// TestKeyringColdStart: a URL that fails at start leaves the set empty
// (every lookup UNAVAILABLE) until a fetch succeeds.
func TestKeyringColdStart(t *testing.T) {
	srv, err := NewJWKSServer(jose.JSONWebKeySet{})
	require.NoError(t, err)
	defer func() { assert.NoError(t, srv.Close()) }()
	s, err := GenerateSigner(ES256, "k1")
	require.NoError(t, err)
	srv.Publish(jose.JSONWebKey{Key: s.Public(), KeyID: "k1", Algorithm: ES256, Use: "sig"})
	restore := srv.Down()
	clock := clockwork.NewFakeClock()
	ring := newFilesKeyring(srv.URL, defaultHTTPClient(), clock, testRefresh)
	defer ring.close()
	assert.Empty(t, ring.all())

	clock.Advance(filesJWKSCooldown)
	_, err = ring.key(t.Context(), "k1")
	assert.Equal(t, codes.Unavailable, code(err), "%v", err)
	restore()
	clock.Advance(filesJWKSCooldown)
	k, err := ring.key(t.Context(), "k1")
	require.NoError(t, err)
	assert.True(t, k.Equal(s.Public()))
}

// TestKeyringWaitEnds: a lookup waiting for a fetch ends with its
// context's error at its deadline, and with UNAVAILABLE when the keyring
// closes; close ends a fetch in flight.
func TestKeyringWaitEnds(t *testing.T) {
	f := newKeyringFixture(t, "k1")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := f.ring.key(ctx, "made-up") // the cooldown never passes on the fake clock
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	waiting := f.lookupLater(t, "made-up")
	require.Eventually(t, func() bool { return f.ring.waitingCallers() == 1 }, 10*time.Second, time.Millisecond)
	release := f.srv.Hold()
	defer release()
	f.clock.Advance(filesJWKSCooldown) // the fetch starts and is held
	require.Eventually(t, func() bool { return f.srv.Fetches() == 2 }, 10*time.Second, time.Millisecond)
	f.ring.close()
	assert.Equal(t, codes.Unavailable, code(<-waiting))
	f.known(t, "k1") // the set is still there
}
