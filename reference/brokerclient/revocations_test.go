package brokerclient

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// feed is a Revocations following a fake broker's scripted revocation stream.
type feed struct {
	clock  *clockwork.FakeClock
	broker *fakeBroker
	sleeps *sleeps
	rev    *Revocations
}

func newFeed(t *testing.T, mode Mode) *feed {
	t.Helper()
	return newFeedWith(t, FollowOptions{Mode: mode})
}

// newFeedWith follows a fake broker with opts, a 15 s staleness bound, the
// feed's fake clock and scripted backoff sleeps.
func newFeedWith(t *testing.T, opts FollowOptions) *feed {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	b := newFakeBroker(clock)
	client, _ := serveBroker(t, b)
	s := &sleeps{}
	ctx, cancel := context.WithCancel(context.Background())
	opts.MaxStaleness, opts.Clock = 15*time.Second, clock
	opts.Retry = Retry{Source: rand.NewPCG(1, 2), Sleep: s.sleep}
	rev := Follow(ctx, client, opts)
	t.Cleanup(func() { cancel(); <-rev.Done() }) // runs before the server stops
	f := &feed{clock: clock, broker: b, sleeps: s, rev: rev}
	assert.Equal(t, uint64(0), f.nextStream(t), "the first stream starts from the beginning")
	return f
}

// nextStream waits for the follower to open a stream and returns its after_sequence.
func (f *feed) nextStream(t *testing.T) uint64 {
	t.Helper()
	return f.nextRequest(t).GetAfterSequence()
}

// nextRequest waits for the follower to open a stream and returns its request.
func (f *feed) nextRequest(t *testing.T) *jitv1.WatchRevocationsRequest {
	t.Helper()
	select {
	case in := <-f.broker.revAfter:
		return in
	case <-withTimeout(t, 5*time.Second).Done():
		t.Fatal("the follower did not open a revocation stream")
		return nil
	}
}

// send streams ev and waits until the follower has applied it.
func (f *feed) send(t *testing.T, ev *jitv1.RevocationEvent) {
	t.Helper()
	before := f.rev.Status().Received
	f.broker.revFeed <- revItem{ev: ev}
	require.Eventually(t, func() bool { return f.rev.Status().Received > before }, 5*time.Second, time.Millisecond)
}

// cut ends the current stream with err.
func (f *feed) cut(err error) { f.broker.revFeed <- revItem{err: err} }

func (f *feed) revoke(seq uint64, jti string, expires time.Time) *jitv1.RevocationEvent {
	return &jitv1.RevocationEvent{Sequence: seq, GrantId: jti, GrantExpiresAt: ts(expires),
		RevokedAt: ts(f.clock.Now()), SentAt: ts(f.clock.Now())}
}

func heartbeat(seq uint64) *jitv1.RevocationEvent {
	return &jitv1.RevocationEvent{Sequence: seq, Heartbeat: true}
}

func TestRevokedGrantIsRefused(t *testing.T) {
	f := newFeed(t, Strict)
	f.broker.revFeed <- revItem{ev: f.revoke(1, "jti-a", t0.Add(time.Minute))}
	f.broker.revFeed <- revItem{ev: heartbeat(1)} // the replay is over
	require.NoError(t, f.rev.Wait(withTimeout(t, 5*time.Second)))

	err := f.rev.Check("jti-a", f.clock.Now())
	requireReason(t, err, reason.GrantRevoked, map[string]string{"grant_id": "jti-a", "revoked_at": "2026-11-22T12:00:00Z"})
	assert.NoError(t, f.rev.Check("jti-b", f.clock.Now()))
	assert.Equal(t, 1, f.rev.Status().Revoked)
}

// TestRevocationOutlivesExpiryByTheLeeway: the verifier accepts a grant
// until exp plus its leeway, so the view must refuse a revoked grant until
// then too; only past that instant (when expiry refuses it) is the entry
// forgotten. The follower tells the broker its leeway, for replays.
func TestRevocationOutlivesExpiryByTheLeeway(t *testing.T) {
	cases := []struct {
		name       string
		leeway     time.Duration
		wantLeeway time.Duration
	}{
		{name: "default leeway", leeway: 0, wantLeeway: token.DefaultLeeway},
		{name: "stated leeway", leeway: 2 * time.Minute, wantLeeway: 2 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeedWith(t, FollowOptions{Mode: BestEffort, Leeway: tc.leeway})
			exp := t0.Add(time.Minute)
			f.send(t, heartbeat(0))
			f.send(t, f.revoke(1, "jti-a", exp))
			f.cut(unavailable) // the reconnect states the leeway
			in := f.nextRequest(t)
			assert.Equal(t, tc.wantLeeway, in.GetLeeway().AsDuration())
			f.send(t, heartbeat(1))

			// Heartbeats keep the view fresh while the clock moves to and past exp.
			for f.clock.Now().Before(exp.Add(tc.wantLeeway)) {
				f.clock.Advance(min(10*time.Second, exp.Add(tc.wantLeeway).Sub(f.clock.Now())))
				f.send(t, heartbeat(1))
				assert.ErrorIs(t, f.rev.Check("jti-a", f.clock.Now()), reason.GrantRevoked,
					"%v past exp: the verifier would still accept the grant", f.clock.Now().Sub(exp))
			}
			assert.Equal(t, 1, f.rev.Status().Revoked)

			// One tick past exp plus leeway, expiry refuses it and the entry goes.
			f.clock.Advance(time.Nanosecond)
			assert.NoError(t, f.rev.Check("jti-a", f.clock.Now()))
			f.send(t, heartbeat(1))
			assert.Equal(t, 0, f.rev.Status().Revoked)
			assert.Zero(t, f.rev.StaleAllows())
		})
	}
}

func TestRevocationViewStaleness(t *testing.T) {
	cases := []struct {
		mode            Mode
		wantStaleReason reason.Reason
		wantStaleAllows int64
	}{
		{mode: Strict, wantStaleReason: reason.RevocationViewStale, wantStaleAllows: 0},
		{mode: BestEffort, wantStaleReason: "", wantStaleAllows: 1},
	}
	for _, tc := range cases {
		t.Run(tc.mode.String(), func(t *testing.T) {
			f := newFeed(t, tc.mode)
			checkStale := func(wantAge string) {
				t.Helper()
				err := f.rev.Check("jti-a", f.clock.Now())
				if tc.wantStaleReason == "" {
					assert.NoError(t, err)
					return
				}
				requireReason(t, err, tc.wantStaleReason, map[string]string{
					"view_age": wantAge, "max_staleness": "15s", "mode": tc.mode.String()})
			}

			// Nothing heard yet: the view counts as stale.
			checkStale("never heard")
			assert.Equal(t, tc.wantStaleAllows, f.rev.StaleAllows())

			// Heartbeats keep the view fresh.
			f.send(t, heartbeat(0))
			f.clock.Advance(10 * time.Second)
			assert.NoError(t, f.rev.Check("jti-a", f.clock.Now()))
			f.send(t, heartbeat(0))
			f.clock.Advance(15 * time.Second)
			assert.NoError(t, f.rev.Check("jti-a", f.clock.Now()), "exactly at the bound is still fresh")

			// Silence beyond the bound: strict refuses, best-effort allows and counts.
			f.clock.Advance(5 * time.Second)
			checkStale("20s")
			assert.Equal(t, 2*tc.wantStaleAllows, f.rev.StaleAllows())
			assert.Equal(t, uint64(0), f.nextStream(t), "the silent stream was cut and opened again")

			f.send(t, heartbeat(0))
			assert.NoError(t, f.rev.Check("jti-a", f.clock.Now()))
			assert.Equal(t, 2*tc.wantStaleAllows, f.rev.StaleAllows())
		})
	}
}

func TestRevocationsResumeAfterReconnect(t *testing.T) {
	f := newFeed(t, Strict)
	f.send(t, heartbeat(0))
	f.send(t, f.revoke(1, "jti-a", t0.Add(time.Hour)))
	f.send(t, f.revoke(2, "jti-b", t0.Add(time.Hour)))
	assert.True(t, f.rev.Status().Connected)

	f.cut(unavailable) // the broker drops the stream

	assert.Equal(t, uint64(2), f.nextStream(t), "resumes after the last sequence seen")
	require.Len(t, f.sleeps.waits(), 1)
	assert.LessOrEqual(t, f.sleeps.waits()[0], DefaultInitialBackoff, "backoff restarts after a stream that delivered")
	assert.Contains(t, f.rev.Status().LastError, "UNAVAILABLE: broker overloaded")
	f.send(t, heartbeat(2))

	f.send(t, f.revoke(3, "jti-c", t0.Add(time.Hour)))
	st := f.rev.Status()
	assert.Equal(t, uint64(3), st.Sequence)
	assert.Equal(t, 3, st.Revoked)
	assert.True(t, st.Connected)
	assert.Empty(t, st.LastError)
	for _, jti := range []string{"jti-a", "jti-b", "jti-c"} {
		assert.ErrorIs(t, f.rev.Check(jti, f.clock.Now()), reason.GrantRevoked, jti)
	}

	// Streams that fail before delivering anything back off further each time.
	f.broker.fail("WatchRevocations", unavailable, unavailable)
	f.cut(unavailable)
	assert.Equal(t, uint64(3), f.nextStream(t))
	waits := f.sleeps.waits()
	require.Len(t, waits, 4)
	for i, d := range waits[1:] {
		assert.LessOrEqual(t, d, f.rev.backoff.ceiling(i+1))
	}
}

// TestSilentStreamIsCutAndReopened: a stream that stays open but delivers
// nothing (a partition that drops packets) is cut once it has been silent
// for the staleness bound, and the follower resumes on a new one; a stream
// that delivers heartbeats in time is left alone.
func TestSilentStreamIsCutAndReopened(t *testing.T) {
	f := newFeed(t, Strict)
	f.send(t, heartbeat(0))
	f.send(t, f.revoke(1, "jti-a", t0.Add(time.Hour)))
	for range 3 {
		f.clock.Advance(10 * time.Second)
		f.send(t, heartbeat(1))
	}
	select {
	case in := <-f.broker.revAfter:
		t.Fatalf("a stream that heard heartbeats in time was reopened (after %d)", in.GetAfterSequence())
	default:
	}

	f.clock.Advance(15 * time.Second)
	assert.Equal(t, uint64(1), f.nextStream(t), "resumes after the last sequence seen")
	assert.Contains(t, f.rev.Status().LastError, "silent")
	f.send(t, f.revoke(2, "jti-b", t0.Add(time.Hour)))
	assert.ErrorIs(t, f.rev.Check("jti-b", f.clock.Now()), reason.GrantRevoked)
}

func TestRevocationCheckDoesNotAllocate(t *testing.T) {
	f := newFeed(t, Strict)
	f.send(t, f.revoke(1, "jti-a", t0.Add(time.Hour)))
	f.send(t, heartbeat(1))
	now := f.clock.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		if f.rev.Check("jti-b", now) != nil {
			t.Fatal("refused")
		}
	})
	assert.Zero(t, allocs)
}

func TestWaitEndsWithItsContext(t *testing.T) {
	f := newFeed(t, Strict)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, f.rev.Wait(ctx), context.Canceled)
	assert.False(t, f.rev.Status().Connected)
}

func TestModeRoundTrips(t *testing.T) {
	for _, m := range []Mode{Strict, BestEffort} {
		got, err := ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := ParseMode("lenient")
	assert.ErrorContains(t, err, `"lenient"`)
	assert.Equal(t, Strict, Mode(0), "the zero value fails closed")
}
