package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
)

// TestRestartContinues: a second broker on the same store sees the same
// requests (revisions included), re-arms their timers and carries on:
// the pending request expires, the approved one ends, the auto-approval
// owed is paid.
func TestRestartContinues(t *testing.T) {
	f := newFixture(t)
	pending := f.request(alice, read(0)).GetId()
	approved := inState[jitv1.State_STATE_APPROVED](f)
	auto := f.request(alice, &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: autoSvc, Methods: []string{autoGet}}}).GetId()
	before := map[string]*jitv1.AccessRequest{}
	for _, id := range []string{pending, approved, auto} {
		r, err := f.b.GetRequest(f.ctx(), alice, id)
		require.NoError(t, err)
		before[id] = r
	}
	require.NoError(t, f.b.Close())
	_, err := f.b.GetRequest(f.ctx(), alice, pending)
	assert.ErrorIs(t, err, broker.ErrClosed)

	f.b = f.open()
	for id, want := range before {
		got, err := f.b.GetRequest(f.ctx(), alice, id)
		require.NoError(t, err)
		assert.True(t, proto.Equal(want, got), "request %s differs after restart", id)
	}
	// pending: expiry; approved: end; auto: expiry and auto-approval.
	f.waitTimers(4)

	pendingRevs, _ := f.watch(alice, pending)
	approvedRevs, _ := f.watch(alice, approved)
	autoRevs, _ := f.watch(alice, auto)
	next(t, pendingRevs)
	next(t, approvedRevs)
	next(t, autoRevs)

	f.clock.Advance(autoDelay)
	assert.Equal(t, jitv1.State_STATE_APPROVED, next(t, autoRevs).GetState())
	f.clock.Advance(readPending)
	r := next(t, pendingRevs)
	assert.Equal(t, jitv1.State_STATE_EXPIRED, r.GetState())
	assert.Equal(t, before[pending].GetRevision()+1, r.GetRevision())
	f.clock.Advance(readMax)
	assert.Equal(t, jitv1.State_STATE_ENDED, next(t, approvedRevs).GetState())
}

// TestRestartFiresOverdueTimers: deadlines that passed while no broker was
// running fire as soon as the next one starts.
func TestRestartFiresOverdueTimers(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, read(0)).GetId()
	require.NoError(t, f.b.Close())
	f.clock.Advance(time.Hour)

	f.b = f.open()
	revs, _ := f.watch(alice, id)
	r := waitState(t, revs, jitv1.State_STATE_EXPIRED)
	assert.Equal(t, broker.ActorTimer, r.GetActor())
}
