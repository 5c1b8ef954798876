package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
)

func TestPendingExpiry(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, read(0)).GetId()
	revs, done := f.watch(alice, id)
	next(t, revs)
	f.waitTimers(1)

	f.clock.Advance(readPending - time.Second)
	assert.Empty(t, revs, "nothing happens before the timeout")
	f.clock.Advance(time.Second)
	r := next(t, revs)
	assert.Equal(t, jitv1.State_STATE_EXPIRED, r.GetState())
	assert.Equal(t, broker.ActorTimer, r.GetActor())
	assert.Equal(t, start.Add(readPending), r.GetUpdatedAt().AsTime())
	require.NoError(t, next(t, done), "EXPIRED is terminal: the watch ends")
}

func TestGrantEnds(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, read(10*time.Minute)).GetId()
	revs, done := f.watch(alice, id)
	next(t, revs)
	_, err := f.approve(bob, id)
	require.NoError(t, err)
	assert.Equal(t, jitv1.State_STATE_APPROVED, next(t, revs).GetState())
	f.waitTimers(1) // the end timer replaced the pending one

	f.clock.Advance(10 * time.Minute)
	r := next(t, revs)
	assert.Equal(t, jitv1.State_STATE_ENDED, r.GetState())
	assert.Equal(t, broker.ActorTimer, r.GetActor())
	assert.NotEmpty(t, r.GetGrantId())
	require.NoError(t, next(t, done))
}

func TestAutoApprove(t *testing.T) {
	get := func() *jitv1.RequestAccessRequest {
		return &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: autoSvc, Methods: []string{autoGet}}}
	}
	t.Run("at once", func(t *testing.T) {
		f := newFixture(t)
		r := f.request(oscar, get())
		assert.Equal(t, jitv1.State_STATE_APPROVED, r.GetState())
		assert.Equal(t, broker.ActorPolicy, r.GetActor())
		assert.NotEmpty(t, r.GetGrant(), "the requester gets the grant in the response")
		assert.Equal(t, uint64(1), r.GetRevision(), "requested and approved in one commit")
		assert.Equal(t, []string{
			"requested >PENDING by oscar", "approved PENDING>APPROVED by policy", "grant_issued PENDING>APPROVED by policy",
		}, actions(f.audit(r.GetId())))
	})
	t.Run("after a delay", func(t *testing.T) {
		f := newFixture(t)
		r := f.request(alice, get())
		assert.Equal(t, jitv1.State_STATE_PENDING, r.GetState())
		assert.Contains(t, r.GetStateReason(), "auto-approval due")
		revs, _ := f.watch(alice, r.GetId())
		next(t, revs)
		f.waitTimers(2) // pending expiry and auto-approval

		f.clock.Advance(autoDelay)
		got := next(t, revs)
		assert.Equal(t, jitv1.State_STATE_APPROVED, got.GetState())
		assert.Equal(t, broker.ActorPolicy, got.GetActor())
		assert.NotEmpty(t, got.GetGrant())
		assert.Equal(t, start.Add(autoDelay), got.GetUpdatedAt().AsTime())
		recs := f.audit(r.GetId())
		require.Len(t, recs, 3)
		assert.Equal(t, autoDelay, recs[1].ApprovalLatency)
	})
	t.Run("survives a review", func(t *testing.T) {
		f := newFixture(t)
		f.policy.Rules[2].Approvals = 2
		r := f.request(alice, get())
		_, err := f.approve(bob, r.GetId())
		require.NoError(t, err)
		revs, _ := f.watch(alice, r.GetId())
		next(t, revs)
		f.clock.Advance(autoDelay)
		assert.Equal(t, jitv1.State_STATE_APPROVED, next(t, revs).GetState())
	})
	t.Run("not for other groups or methods", func(t *testing.T) {
		f := newFixture(t)
		r := f.request(bob, get())
		assert.Equal(t, jitv1.State_STATE_PENDING, r.GetState())
		r = f.request(oscar, &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: autoSvc, Methods: []string{"/auto.v1.Svc/Put"}}})
		assert.Equal(t, jitv1.State_STATE_PENDING, r.GetState())
		assert.NotContains(t, r.GetStateReason(), "auto-approval")
	})
}
