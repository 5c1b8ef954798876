package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/token"
)

// TestRevocationReplayCoversTheLeeway: a verifier accepts a grant until
// exp plus its leeway on its own clock, which may lag the broker's by up to
// that leeway, so a verifier that (re)subscribes until exp plus twice the
// leeway (broker clock) must still be sent the grant's revocation; past
// that, the grant is refused as expired everywhere and is left out.
func TestRevocationReplayCoversTheLeeway(t *testing.T) {
	cases := []struct {
		name     string
		pastExp  time.Duration
		leeway   *durationpb.Duration
		replayed bool
	}{
		{name: "within the default leeway", pastExp: 10 * time.Second, replayed: true},
		{name: "a verifier clock a leeway behind", pastExp: 2 * token.DefaultLeeway, replayed: true},
		{name: "past twice the default leeway", pastExp: 2*token.DefaultLeeway + time.Second, replayed: false},
		{name: "within a longer leeway the verifier states", pastExp: 4 * time.Minute, leeway: durationpb.New(2 * time.Minute), replayed: true},
		{name: "past the longer leeway", pastExp: 4*time.Minute + time.Second, leeway: durationpb.New(2 * time.Minute), replayed: false},
		{name: "a shorter stated leeway keeps the default", pastExp: 50 * time.Second, leeway: durationpb.New(time.Second), replayed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			revoked := f.revokeOne()
			exp := revoked.GetGrantExpiresAt().AsTime()
			f.clock.Advance(exp.Sub(f.clock.Now()) + tc.pastExp)

			events, _, _ := f.watchFeed(&jitv1.WatchRevocationsRequest{Leeway: tc.leeway})
			if tc.replayed {
				ev := next(t, events)
				assert.Equal(t, revoked.GetGrantId(), ev.GetGrantId())
				assert.False(t, ev.GetHeartbeat())
			}
			current(t, events, 1)
		})
	}
}

func TestRevocationFeedRefusesABadLeeway(t *testing.T) {
	for name, d := range map[string]*durationpb.Duration{
		"negative":        durationpb.New(-time.Second),
		"invalid nanos":   {Seconds: 1, Nanos: -5},
		"out of range":    {Seconds: 1 << 62},
		"mismatched sign": {Seconds: -1, Nanos: 5},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			_, done, _ := f.watchFeed(&jitv1.WatchRevocationsRequest{Leeway: d})
			err := next(t, done)
			assert.Equal(t, codes.InvalidArgument, codeOf(err))
			assert.ErrorIs(t, err, broker.ErrInvalidArgument)
		})
	}
}

// TestRevocationFeedEpoch: every event carries the broker's epoch, and
// after_sequence is honoured only in that epoch: a position read in another
// epoch (or beyond this feed's end) replays the feed from the start.
func TestRevocationFeedEpoch(t *testing.T) {
	f := newFixture(t)
	first := f.revokeOne()
	second := f.revokeOne()
	epoch := f.b.Epoch()
	require.NotEmpty(t, epoch)

	cases := []struct {
		name string
		in   *jitv1.WatchRevocationsRequest
		want []string
	}{
		{name: "same epoch resumes", in: &jitv1.WatchRevocationsRequest{AfterSequence: 1, Epoch: epoch},
			want: []string{second.GetGrantId()}},
		{name: "another epoch replays all", in: &jitv1.WatchRevocationsRequest{AfterSequence: 1, Epoch: "another"},
			want: []string{first.GetGrantId(), second.GetGrantId()}},
		{name: "no epoch replays all", in: &jitv1.WatchRevocationsRequest{AfterSequence: 2},
			want: []string{first.GetGrantId(), second.GetGrantId()}},
		{name: "past the feed's end replays all", in: &jitv1.WatchRevocationsRequest{AfterSequence: 7, Epoch: epoch},
			want: []string{first.GetGrantId(), second.GetGrantId()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			events, _, cancel := f.watchFeed(tc.in)
			defer cancel()
			var got []string
			for _, want := range tc.want {
				ev := next(t, events)
				assert.Equal(t, epoch, ev.GetEpoch(), "replayed event")
				assert.Equal(t, want, ev.GetGrantId())
				got = append(got, ev.GetGrantId())
			}
			assert.Equal(t, tc.want, got)
			hb := next(t, events)
			assert.True(t, hb.GetHeartbeat())
			assert.Equal(t, epoch, hb.GetEpoch(), "heartbeat after the replay")
			assert.Equal(t, uint64(2), hb.GetSequence())
		})
	}

	// Live events and ticking heartbeats carry it too.
	events, _, _ := f.subscribe(2)
	current(t, events, 2)
	third := f.revokeOne()
	ev := next(t, events) // no tick can come between: the fake clock has not moved
	assert.Equal(t, third.GetGrantId(), ev.GetGrantId())
	assert.Equal(t, epoch, ev.GetEpoch())
	f.clock.Advance(time.Second)
	hb := next(t, events)
	assert.True(t, hb.GetHeartbeat())
	assert.Equal(t, epoch, hb.GetEpoch())
}

// TestEpochPerStore: a durable store keeps its epoch across restarts (its
// numbering goes on), a store without one gets a fresh epoch every start.
func TestEpochPerStore(t *testing.T) {
	t.Run("memory: a new epoch per start", func(t *testing.T) {
		f := newFixture(t)
		first := f.b.Epoch()
		require.NoError(t, f.b.Close())
		f.b = f.open()
		assert.NotEqual(t, first, f.b.Epoch())
		other := newFixture(t)
		assert.NotEqual(t, first, other.b.Epoch())
	})
	t.Run("durable: the store's epoch", func(t *testing.T) {
		dir := t.TempDir()
		epochOf := func(dir string) string {
			t.Helper()
			s, err := store.Open(dir, store.Options{NoFsync: true})
			require.NoError(t, err)
			defer func() { require.NoError(t, s.Close()) }()
			f := newFixture(t)
			f.store = s
			b := f.open()
			defer func() { require.NoError(t, b.Close()) }()
			require.NotEmpty(t, b.Epoch())
			return b.Epoch()
		}
		first := epochOf(dir)
		assert.Equal(t, first, epochOf(dir), "reopened on the same directory")
		assert.NotEqual(t, first, epochOf(t.TempDir()), "a new directory")
	})
}

// keySetOf is the id the broker's Keys call gives the key set it publishes now.
func keySetOf(t *testing.T, b *broker.Broker) (string, []string) {
	t.Helper()
	resp, err := broker.NewServer(b).Keys(context.Background(), &jitv1.KeysRequest{})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetKeySetId())
	return resp.GetKeySetId(), kids(t, []byte(resp.GetJwks()))
}

// TestKeyChangesAreAnnounced: the feed's heartbeats carry the id of the key
// set the broker publishes, and a rotation, a retirement or the end of a
// rotation's overlap announces the new one at once (or at the next tick
// for the overlap), so verifiers fetch keys on the revocation feed's
// staleness bound rather than their key cache's TTL.
func TestKeyChangesAreAnnounced(t *testing.T) {
	f := newFixture(t)
	oldKid := token.DevKeyID(token.DevGrantIssuer, token.EdDSA)
	id0, kids0 := keySetOf(t, f.b)
	assert.Contains(t, kids0, oldKid)

	events, _, _ := f.subscribe(0)
	hb := next(t, events)
	require.True(t, hb.GetHeartbeat())
	assert.Equal(t, id0, hb.GetKeySetId(), "the heartbeat after the replay announces the current key set")

	nextKey, err := token.GenerateKey(token.EdDSA, "broker-2")
	require.NoError(t, err)
	require.NoError(t, f.b.Rotate(nextKey))
	hb = next(t, events)
	require.True(t, hb.GetHeartbeat(), "a rotation is announced without waiting for a tick")
	id1, kids1 := keySetOf(t, f.b)
	assert.NotEqual(t, id0, id1)
	assert.Equal(t, id1, hb.GetKeySetId())
	assert.Contains(t, kids1, "broker-2")

	esKid := token.DevKeyID(token.DevGrantIssuer, token.ES256)
	require.NoError(t, f.b.RetireKey(esKid))
	hb = next(t, events)
	require.True(t, hb.GetHeartbeat(), "a retirement is announced without waiting for a tick")
	id2, kids2 := keySetOf(t, f.b)
	assert.NotEqual(t, id1, id2)
	assert.Equal(t, id2, hb.GetKeySetId())
	assert.NotContains(t, kids2, esKid, "a retired key is no longer published")
	require.NoError(t, f.b.RetireKey(esKid), "retiring twice is harmless")
	next(t, events)

	// The rotated-out key verifies for the policy's longest grant; once
	// that ends it leaves the set, and the next heartbeat says so.
	f.clock.Advance(readMax + time.Second)
	hb = next(t, events)
	require.True(t, hb.GetHeartbeat())
	id3, kids3 := keySetOf(t, f.b)
	assert.NotContains(t, kids3, oldKid)
	assert.NotEqual(t, id2, id3)
	assert.Equal(t, id3, hb.GetKeySetId())
}

func TestRetireKeyRefusals(t *testing.T) {
	f := newFixture(t)
	signing, err := f.issuer.Keys().Signing()
	require.NoError(t, err)
	err = f.b.RetireKey(signing.ID)
	assert.Equal(t, codes.InvalidArgument, codeOf(err))
	assert.ErrorContains(t, err, "rotate")
	assert.Equal(t, codes.NotFound, codeOf(f.b.RetireKey("no-such-kid")))
	_, kids := keySetOf(t, f.b)
	assert.Contains(t, kids, signing.ID, "a refused retirement changes nothing")
}
