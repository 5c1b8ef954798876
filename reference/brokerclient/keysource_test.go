package brokerclient

import (
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Keys are generated once per test binary.
var testKeys = sync.OnceValue(func() [2]*token.Key {
	var ks [2]*token.Key
	for i, kid := range []string{"broker-1", "broker-2"} {
		k, err := token.GenerateKey(token.EdDSA, kid)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

// keyRig is a KeySource fetching from a fake broker.
type keyRig struct {
	clock  *clockwork.FakeClock
	broker *fakeBroker
	stop   func()
	keys   *KeySource
}

func newKeyRig(t *testing.T, published ...*token.Key) *keyRig {
	t.Helper()
	return newKeyRigWith(t, KeySourceOptions{}, published...)
}

// newKeyRigWith is newKeyRig with opts (Clock, MinRefresh and TTL are the rig's).
func newKeyRigWith(t *testing.T, opts KeySourceOptions, published ...*token.Key) *keyRig {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	b := newFakeBroker(clock)
	client, stop := serveBroker(t, b)
	opts.Clock, opts.MinRefresh, opts.TTL = clock, 10*time.Second, time.Minute
	r := &keyRig{clock: clock, broker: b, stop: stop, keys: NewKeySource(client, opts)}
	r.publish(t, published...)
	return r
}

// publish makes the broker serve the public halves of keys.
func (r *keyRig) publish(t *testing.T, keys ...*token.Key) {
	t.Helper()
	r.publishAs(t, "", keys...)
}

// publishAs makes the broker serve the public halves of keys as key set id.
func (r *keyRig) publishAs(t *testing.T, id string, keys ...*token.Key) {
	t.Helper()
	pub := make([]*token.Key, len(keys))
	for i, k := range keys {
		pub[i] = k.PublicOnly()
	}
	doc, err := token.MarshalKeySet(pub)
	require.NoError(t, err)
	r.broker.mu.Lock()
	r.broker.jwks, r.broker.keyID = string(doc), id
	r.broker.mu.Unlock()
}

func TestKeySourceColdCacheBrokerDown(t *testing.T) {
	cases := []struct {
		name string
		down func(r *keyRig)
	}{
		{name: "listener closed", down: func(r *keyRig) { r.stop() }},
		{name: "Keys answers UNAVAILABLE", down: func(r *keyRig) { r.broker.fail("Keys", unavailable) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k1 := testKeys()[0]
			r := newKeyRig(t, k1)
			tc.down(r)

			_, err := r.keys.Lookup(k1.ID, r.clock.Now())

			d := requireReason(t, err, reason.BrokerUnavailable, map[string]string{"fetches": "1"})
			assert.Equal(t, codes.Unavailable, status.Code(err))
			assert.Contains(t, d.Metadata["last_error"], "UNAVAILABLE: ")
			assert.Equal(t, 0, r.keys.Status().Keys)
		})
	}
}

func TestKeySourceColdCacheRetriesAfterMinRefresh(t *testing.T) {
	k1 := testKeys()[0]
	r := newKeyRig(t, k1)
	r.broker.fail("Keys", unavailable)

	_, err := r.keys.Lookup(k1.ID, r.clock.Now())
	requireReason(t, err, reason.BrokerUnavailable, nil)
	_, err = r.keys.Lookup(k1.ID, r.clock.Now())
	requireReason(t, err, reason.BrokerUnavailable, map[string]string{"next_fetch_after": "2026-11-22T12:00:10Z"})
	assert.Equal(t, 1, r.broker.count("Keys"), "a cold cache does not hammer a down broker")

	r.clock.Advance(10 * time.Second) // the broker is back
	key, err := r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, k1.ID, key.ID)
	assert.Nil(t, key.Private, "only public material is kept")
	assert.Equal(t, 2, r.broker.count("Keys"))
}

func TestKeySourceWarmCacheServesWhileBrokerDown(t *testing.T) {
	k1 := testKeys()[0]
	r := newKeyRig(t, k1)
	_, err := r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	r.stop()

	r.clock.Advance(2 * time.Minute) // past the TTL: a background refresh fails
	key, err := r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, k1.ID, key.ID)
	require.Eventually(t, func() bool { return r.keys.Status().LastError != "" }, 5*time.Second, time.Millisecond)

	// Still served; an unknown kid is the token's problem, with the refresh failure noted.
	_, err = r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	_, err = r.keys.Lookup("broker-9", r.clock.Now())
	d := requireReason(t, err, reason.GrantUnknownKey, nil)
	assert.Contains(t, d.Metadata["key_refresh_error"], "UNAVAILABLE: ")
}

func TestKeySourceRefreshesOnUnknownKidAtMostOncePerMinRefresh(t *testing.T) {
	k1, k2 := testKeys()[0], testKeys()[1]
	r := newKeyRig(t, k1)
	_, err := r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, r.broker.count("Keys"))

	// The broker rotates to broker-2; the source has not fetched for 10 s.
	r.publish(t, k1, k2)
	r.clock.Advance(10 * time.Second)
	key, err := r.keys.Lookup(k2.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, k2.ID, key.ID)
	assert.Equal(t, 2, r.broker.count("Keys"))

	// Made-up kids do not turn into fetches.
	for _, kid := range []string{"x", "../../etc/passwd", "' OR 1=1 --", "broker-3"} {
		_, err := r.keys.Lookup(kid, r.clock.Now())
		requireReason(t, err, reason.GrantUnknownKey, nil)
	}
	assert.Equal(t, 2, r.broker.count("Keys"))

	r.clock.Advance(10 * time.Second)
	_, err = r.keys.Lookup("broker-3", r.clock.Now())
	requireReason(t, err, reason.GrantUnknownKey, nil)
	assert.Equal(t, 3, r.broker.count("Keys"))
}

func TestKeySourceRefreshesInTheBackgroundAfterTTL(t *testing.T) {
	k1, k2 := testKeys()[0], testKeys()[1]
	r := newKeyRig(t, k1)
	require.NoError(t, r.keys.Refresh(withTimeout(t, 5*time.Second)))
	r.publish(t, k1, k2)

	r.clock.Advance(59 * time.Second)
	_, err := r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 1, r.broker.count("Keys"), "within the TTL")

	r.clock.Advance(time.Second)
	_, err = r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err, "the cached key is served while the refresh runs")
	require.Eventually(t, func() bool { return r.keys.Status().Keys == 2 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 2, r.broker.count("Keys"))
}

func TestKeySourceRejectsABadKeySet(t *testing.T) {
	r := newKeyRig(t)
	r.broker.mu.Lock()
	r.broker.jwks = `{"keys": []}`
	r.broker.mu.Unlock()

	_, err := r.keys.Lookup("broker-1", r.clock.Now())

	d := requireReason(t, err, reason.BrokerUnavailable, nil)
	assert.Contains(t, d.Metadata["last_error"], "the broker's key set does not parse: the key set has no keys")
}

// OUT-002 and OUT-003 with the reference verifier: a cold cache with the
// broker down denies with UNAVAILABLE; a warm one keeps verifying.
func TestKeySourceWithGrantVerifier(t *testing.T) {
	k1 := testKeys()[0]
	r := newKeyRig(t, k1)
	issuer := token.NewIssuer("broker.test", token.NewKeySet(k1), r.clock)
	raw, _, err := issuer.Grant(token.GrantSpec{Subject: "alice", Audience: service,
		Scope: token.Scope{Methods: []string{readMethod}}, TTL: 5 * time.Minute})
	require.NoError(t, err)
	verifier := func() *token.GrantVerifier {
		v, err := token.NewGrantVerifier(r.keys, token.Config{Issuer: "broker.test", Audience: service, Clock: r.clock, CacheSize: -1})
		require.NoError(t, err)
		return v
	}
	req := token.Request{Subject: "alice", Method: readMethod}

	r.broker.fail("Keys", unavailable)
	_, err = verifier().Verify(raw, req)
	requireReason(t, err, reason.BrokerUnavailable, nil)

	r.clock.Advance(10 * time.Second)
	_, err = verifier().Verify(raw, req)
	require.NoError(t, err)

	r.stop()
	r.clock.Advance(2 * time.Minute)
	_, err = verifier().Verify(raw, req)
	require.NoError(t, err, "a warm cache keeps verifying while the broker is down")
}
