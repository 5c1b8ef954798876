package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/token"
)

// subscribe follows the revocation feed after a sequence of the broker's epoch.
func (f *fixture) subscribe(after uint64) (<-chan *jitv1.RevocationEvent, <-chan error, context.CancelFunc) {
	return f.watchFeed(&jitv1.WatchRevocationsRequest{AfterSequence: after, Epoch: f.b.Epoch()})
}

// watchFeed follows the revocation feed as in asks.
func (f *fixture) watchFeed(in *jitv1.WatchRevocationsRequest) (<-chan *jitv1.RevocationEvent, <-chan error, context.CancelFunc) {
	ctx, cancel := context.WithCancel(f.ctx())
	events := make(chan *jitv1.RevocationEvent, 64)
	done := make(chan error, 1)
	go func() {
		done <- f.b.WatchRevocations(ctx, in, func(ev *jitv1.RevocationEvent) error {
			events <- ev
			return nil
		})
	}()
	return events, done, cancel
}

// current reads the heartbeat a subscriber gets once its replay is done,
// which tells it its view is current as of sequence seq.
func current(t *testing.T, ch <-chan *jitv1.RevocationEvent, seq uint64) {
	t.Helper()
	hb := next(t, ch)
	assert.True(t, hb.GetHeartbeat(), "the replay ends with a heartbeat")
	assert.Equal(t, seq, hb.GetSequence())
}

// revokeOne approves and revokes a new request of alice's, returning it.
func (f *fixture) revokeOne() *jitv1.AccessRequest {
	f.t.Helper()
	id := inState[jitv1.State_STATE_APPROVED](f)
	r, err := f.revoke(bob, id)
	require.NoError(f.t, err)
	return r
}

func TestRevocationFeed(t *testing.T) {
	f := newFixture(t)
	first := f.revokeOne()

	// Replay: a subscriber from zero gets the stored revocation first.
	all, _, _ := f.subscribe(0)
	ev := next(t, all)
	assert.Equal(t, uint64(1), ev.GetSequence())
	assert.Equal(t, first.GetGrantId(), ev.GetGrantId())
	assert.Equal(t, first.GetGrantExpiresAt().AsTime(), ev.GetGrantExpiresAt().AsTime())
	assert.Equal(t, start, ev.GetRevokedAt().AsTime())
	assert.False(t, ev.GetHeartbeat())
	current(t, all, 1)

	// Live: the next revocation reaches it as it is committed.
	second := f.revokeOne()
	ev = next(t, all)
	assert.Equal(t, uint64(2), ev.GetSequence())
	assert.Equal(t, second.GetGrantId(), ev.GetGrantId())

	// Resume: a subscriber after 1 gets only the second.
	tail, _, _ := f.subscribe(1)
	assert.Equal(t, uint64(2), next(t, tail).GetSequence())
	current(t, tail, 2)

	// Heartbeats on the broker clock carry the latest sequence.
	f.clock.Advance(time.Second)
	for _, ch := range []<-chan *jitv1.RevocationEvent{all, tail} {
		hb := next(t, ch)
		assert.True(t, hb.GetHeartbeat())
		assert.Equal(t, uint64(2), hb.GetSequence())
		assert.Equal(t, start.Add(time.Second), hb.GetSentAt().AsTime())
		assert.Empty(t, hb.GetGrantId())
	}
	f.clock.Advance(time.Second)
	assert.True(t, next(t, all).GetHeartbeat())
}

// TestRevocationReplaySkipsExpiredGrants: a revocation whose grant has
// expired beyond any verifier's leeway (twice, for a verifier's clock that
// lags) is of no use to a verifier and is not replayed.
func TestRevocationReplaySkipsExpiredGrants(t *testing.T) {
	f := newFixture(t)
	old := f.revokeOne()
	f.clock.Advance(readMax + 2*token.DefaultLeeway + time.Second)

	events, _, _ := f.subscribe(0)
	current(t, events, 1)
	fresh := f.revokeOne()
	// The heartbeat loop may still be handling the tick the Advance fired
	// and send it after the replay: skip heartbeats.
	ev := next(t, events)
	for ev.GetHeartbeat() {
		ev = next(t, events)
	}
	assert.Equal(t, fresh.GetGrantId(), ev.GetGrantId(), "the expired %s is skipped", old.GetGrantId())
	assert.Equal(t, uint64(2), ev.GetSequence())
}

func TestRevocationSubscriberEnds(t *testing.T) {
	t.Run("when the caller gives up", func(t *testing.T) {
		f := newFixture(t)
		_, done, cancel := f.subscribe(0)
		cancel()
		assert.Equal(t, codes.Canceled, codeOf(next(t, done)))
	})
	t.Run("when the broker closes", func(t *testing.T) {
		f := newFixture(t)
		f.revokeOne()
		events, done, _ := f.subscribe(0)
		next(t, events) // subscribed
		require.NoError(t, f.b.Close())
		err := next(t, done)
		assert.Equal(t, codes.Unavailable, codeOf(err))
		assert.ErrorIs(t, err, broker.ErrClosed)
	})
}

// TestRevocationSurvivesRestart: the feed is in the store; a new broker
// replays it and continues its sequence.
func TestRevocationSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	first := f.revokeOne()
	require.NoError(t, f.b.Close())
	f.b = f.open()

	events, _, _ := f.subscribe(0)
	assert.Equal(t, first.GetGrantId(), next(t, events).GetGrantId())
	current(t, events, 1)
	f.revokeOne()
	assert.Equal(t, uint64(2), next(t, events).GetSequence())
}
