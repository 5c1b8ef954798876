package brokerclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
)

// inEpoch sets ev's epoch and returns it.
func inEpoch(epoch string, ev *jitv1.RevocationEvent) *jitv1.RevocationEvent {
	ev.Epoch = epoch
	return ev
}

// TestNewEpochRebuildsTheView: a broker restarted without its store numbers
// its feed from 1 again, in a new epoch. The follower must not resume after
// the old epoch's sequence (that would skip the new broker's first
// revocations): it names its epoch when it resumes (so the broker replays
// from the start), takes the new epoch's numbering, keeps what it knew,
// and fails closed until the replay's heartbeat says the view is current.
func TestNewEpochRebuildsTheView(t *testing.T) {
	f := newFeed(t, Strict)
	live := "jti-live"
	f.send(t, inEpoch("e1", heartbeat(0)))
	for i, jti := range []string{"jti-old-1", "jti-old-2", "jti-old-3"} {
		f.send(t, inEpoch("e1", f.revoke(uint64(i+1), jti, t0.Add(time.Hour))))
	}
	require.NoError(t, f.rev.Check(live, f.clock.Now()))

	f.cut(unavailable) // the broker goes down
	in := f.nextRequest(t)
	assert.Equal(t, uint64(3), in.GetAfterSequence())
	assert.Equal(t, "e1", in.GetEpoch(), "the position is stated with its epoch")

	// The new broker replays its own feed from 1, as it does for another epoch.
	f.send(t, inEpoch("e2", f.revoke(1, "jti-new-1", t0.Add(time.Hour))))
	st := f.rev.Status()
	assert.Equal(t, "e2", st.Epoch)
	assert.Equal(t, uint64(1), st.Sequence)
	assert.Equal(t, 1, st.EpochChanges)
	assert.True(t, st.LastHeard.IsZero(), "not current until the replay's heartbeat")
	assert.ErrorIs(t, f.rev.Check(live, f.clock.Now()), reason.RevocationViewStale,
		"strict fails closed while the new epoch's replay is under way")
	f.send(t, inEpoch("e2", f.revoke(2, "jti-new-2", t0.Add(time.Hour))))
	f.send(t, inEpoch("e2", heartbeat(2)))

	require.NoError(t, f.rev.Check(live, f.clock.Now()))
	for _, jti := range []string{"jti-new-1", "jti-new-2", "jti-old-1", "jti-old-2", "jti-old-3"} {
		assert.ErrorIs(t, f.rev.Check(jti, f.clock.Now()), reason.GrantRevoked,
			"%s: revocations of either epoch hold (the new broker may not know the old ones)", jti)
	}

	// The next reconnect resumes in the new epoch.
	f.cut(unavailable)
	in = f.nextRequest(t)
	assert.Equal(t, uint64(2), in.GetAfterSequence())
	assert.Equal(t, "e2", in.GetEpoch())

	// An epoch that changes within a stream (no broker does that) ends it,
	// and the follower starts over from the beginning.
	f.send(t, inEpoch("e2", heartbeat(2)))
	f.broker.revFeed <- revItem{ev: inEpoch("e3", heartbeat(9))}
	in = f.nextRequest(t)
	assert.Zero(t, in.GetAfterSequence())
	assert.Empty(t, in.GetEpoch())
	assert.Contains(t, f.rev.Status().LastError, "epoch")
	assert.ErrorIs(t, f.rev.Check(live, f.clock.Now()), reason.RevocationViewStale)
	assert.Equal(t, 2, f.rev.Status().EpochChanges)
	f.send(t, inEpoch("e3", heartbeat(9)))
	assert.Equal(t, 2, f.rev.Status().EpochChanges, "the stream after the change starts afresh, not as another change")
	assert.NoError(t, f.rev.Check(live, f.clock.Now()))
}

// TestReplayedEventsDoNotMakeTheViewCurrent: during a replay the view is
// as old as its last heartbeat; a stale strict view stays closed until the
// replay's heartbeat, whatever the replayed events.
func TestReplayedEventsDoNotMakeTheViewCurrent(t *testing.T) {
	f := newFeed(t, Strict)
	f.send(t, f.revoke(1, "jti-a", t0.Add(time.Hour)))
	assert.True(t, f.rev.Status().LastHeard.IsZero())
	assert.ErrorIs(t, f.rev.Check("jti-b", f.clock.Now()), reason.RevocationViewStale)
	f.send(t, heartbeat(1))
	assert.NoError(t, f.rev.Check("jti-b", f.clock.Now()))

	// On a live stream, events count as news too.
	f.clock.Advance(10 * time.Second)
	f.broker.revFeed <- revItem{ev: f.revoke(2, "jti-c", t0.Add(time.Hour))}
	require.Eventually(t, func() bool { return f.rev.Status().LastHeard.Equal(f.clock.Now()) }, 5*time.Second, time.Millisecond)
}

// TestFeedAnnouncesKeySets: the key set id on heartbeats is passed on,
// with a counter that moves only when it changes.
func TestFeedAnnouncesKeySets(t *testing.T) {
	f := newFeed(t, Strict)
	id, gen := f.rev.AnnouncedKeySet()
	assert.Empty(t, id)
	assert.Zero(t, gen)

	steps := []struct {
		announce string
		wantID   string
		wantGen  uint64
	}{
		{announce: "k1", wantID: "k1", wantGen: 1},
		{announce: "k1", wantID: "k1", wantGen: 1},
		{announce: "", wantID: "k1", wantGen: 1}, // a broker that does not say changes nothing
		{announce: "k2", wantID: "k2", wantGen: 2},
	}
	for i, s := range steps {
		f.clock.Advance(time.Second)
		hb := heartbeat(0)
		hb.KeySetId = s.announce
		f.send(t, hb)
		id, gen := f.rev.AnnouncedKeySet()
		assert.Equal(t, s.wantID, id, "step %d", i)
		assert.Equal(t, s.wantGen, gen, "step %d", i)
	}
	assert.Equal(t, "k2", f.rev.Status().KeySetID)
}
