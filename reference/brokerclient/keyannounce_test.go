package brokerclient

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
)

// announcer is a KeyAnnouncer the test moves by hand.
type announcer struct {
	mu  sync.Mutex
	id  string
	gen uint64
}

func (a *announcer) AnnouncedKeySet() (string, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id, a.gen
}

// announce makes id the announced key set.
func (a *announcer) announce(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id != a.id {
		a.id = id
		a.gen++
	}
}

// TestKeySourceFollowsAnnouncedKeySets: a key the broker retires stops
// verifying as soon as the feed announces the new key set, not at the next
// TTL refresh; each announcement costs one fetch.
func TestKeySourceFollowsAnnouncedKeySets(t *testing.T) {
	k1, k2 := testKeys()[0], testKeys()[1]
	ann := &announcer{}
	r := newKeyRigWith(t, KeySourceOptions{Announcer: ann}, k1, k2)
	r.publishAs(t, "set-1", k1, k2)
	ann.announce("set-1")
	_, err := r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 1, r.broker.count("Keys"))
	assert.Equal(t, "set-1", r.keys.Status().KeySetID)

	// The broker retires k1 (a leak); within the TTL, before the feed says
	// so, the cached key still verifies.
	r.publishAs(t, "set-2", k2)
	r.clock.Advance(time.Second)
	_, err = r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 1, r.broker.count("Keys"))

	// The feed announces set-2: the next lookup fetches it, and k1 is gone.
	ann.announce("set-2")
	_, err = r.keys.Lookup(k1.ID, r.clock.Now())
	requireReason(t, err, reason.GrantUnknownKey, nil)
	assert.Equal(t, 2, r.broker.count("Keys"))
	_, err = r.keys.Lookup(k2.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 2, r.broker.count("Keys"), "one fetch per announcement")

	// The broker changed again before its feed said so: the set fetched for
	// set-2's announcement is newer than it, and is not fetched again.
	r.publishAs(t, "set-3", k1, k2)
	ann.announce("set-2b")
	_, err = r.keys.Lookup(k2.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 3, r.broker.count("Keys"))
	ann.announce("set-3")
	_, err = r.keys.Lookup(k1.ID, r.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 3, r.broker.count("Keys"), "the cache already holds set-3")
}

// TestKeySourceBehindTheAnnouncement: when the announced key set cannot be
// fetched, a strict source refuses every token (whether its key was retired
// is unknown) and retries once per MinRefresh; a best-effort one keeps
// verifying with the keys it has and counts each such lookup.
func TestKeySourceBehindTheAnnouncement(t *testing.T) {
	cases := []struct {
		mode            Mode
		wantStaleAllows int64
	}{
		{mode: Strict, wantStaleAllows: 0},
		{mode: BestEffort, wantStaleAllows: 2},
	}
	for _, tc := range cases {
		t.Run(tc.mode.String(), func(t *testing.T) {
			k1 := testKeys()[0]
			ann := &announcer{}
			r := newKeyRigWith(t, KeySourceOptions{Announcer: ann, Mode: tc.mode})
			r.publishAs(t, "set-1", k1)
			ann.announce("set-1")
			require.NoError(t, r.keys.Refresh(withTimeout(t, 5*time.Second)))

			r.broker.fail("Keys", unavailable)
			ann.announce("set-2")
			for range 2 {
				key, err := r.keys.Lookup(k1.ID, r.clock.Now())
				if tc.mode == Strict {
					requireReason(t, err, reason.RevocationViewStale, map[string]string{
						"announced_key_set": "set-2", "cached_key_set": "set-1", "mode": "strict"})
					assert.Contains(t, reason.FromError(err).Metadata["key_refresh_error"], "UNAVAILABLE")
				} else {
					require.NoError(t, err)
					assert.Equal(t, k1.ID, key.ID)
				}
			}
			assert.Equal(t, 2, r.broker.count("Keys"), "a failed fetch is retried after MinRefresh, not on every call")
			assert.Equal(t, tc.wantStaleAllows, r.keys.StaleAllows())

			r.clock.Advance(10 * time.Second) // the broker answers again
			r.publishAs(t, "set-2", k1)
			_, err := r.keys.Lookup(k1.ID, r.clock.Now())
			require.NoError(t, err)
			assert.Equal(t, 3, r.broker.count("Keys"))
			assert.Equal(t, tc.wantStaleAllows, r.keys.StaleAllows())
		})
	}
}

// TestKeySourceColdCacheWithAnnouncement: a cold cache with the broker
// down still answers BROKER_UNAVAILABLE (OUT-002), announcement or not.
func TestKeySourceColdCacheWithAnnouncement(t *testing.T) {
	k1 := testKeys()[0]
	ann := &announcer{}
	ann.announce("set-1")
	r := newKeyRigWith(t, KeySourceOptions{Announcer: ann}, k1)
	r.stop()
	_, err := r.keys.Lookup(k1.ID, r.clock.Now())
	requireReason(t, err, reason.BrokerUnavailable, nil)
}
