package broker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/policy"
)

// TestWatchDeliversEveryRevisionOnce follows PENDING → APPROVED → REVOKED:
// each revision arrives once, in order, and the watch ends on the terminal one.
func TestWatchDeliversEveryRevisionOnce(t *testing.T) {
	for _, who := range []broker.Caller{alice, carol} {
		t.Run(who.Subject, func(t *testing.T) {
			f := newFixture(t)
			id := f.request(alice, read(0)).GetId()
			revs, done := f.watch(who, id)
			assert.Equal(t, jitv1.State_STATE_PENDING, next(t, revs).GetState())

			_, err := f.approve(bob, id)
			require.NoError(t, err)
			_, err = f.revoke(bob, id)
			require.NoError(t, err)

			approved := next(t, revs)
			revoked := next(t, revs)
			require.NoError(t, next(t, done))
			assert.Empty(t, revs, "nothing after the terminal revision")
			assert.Equal(t, []jitv1.State{jitv1.State_STATE_APPROVED, jitv1.State_STATE_REVOKED},
				[]jitv1.State{approved.GetState(), revoked.GetState()})
			assert.Equal(t, []uint64{2, 3}, []uint64{approved.GetRevision(), revoked.GetRevision()})
			assert.Equal(t, who.Subject == alice.Subject, approved.GetGrant() != "", "only the requester sees the grant")
			assert.NotEmpty(t, approved.GetGrantId())
		})
	}
}

func TestWatchTerminalRequestSendsOnce(t *testing.T) {
	f := newFixture(t)
	id := inState[jitv1.State_STATE_DENIED](f)
	var got []*jitv1.AccessRequest
	err := f.b.Watch(f.ctx(), alice, id, func(r *jitv1.AccessRequest) error {
		got = append(got, r)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, jitv1.State_STATE_DENIED, got[0].GetState())
}

func TestWatchEnds(t *testing.T) {
	t.Run("when the caller gives up", func(t *testing.T) {
		f := newFixture(t)
		id := f.request(alice, read(0)).GetId()
		ctx, cancel := context.WithCancel(f.ctx())
		err := f.b.Watch(ctx, alice, id, func(*jitv1.AccessRequest) error {
			cancel()
			return nil
		})
		assert.Equal(t, codes.Canceled, codeOf(err))
	})
	t.Run("when send fails", func(t *testing.T) {
		f := newFixture(t)
		id := f.request(alice, read(0)).GetId()
		boom := fmt.Errorf("client went away")
		err := f.b.Watch(f.ctx(), alice, id, func(*jitv1.AccessRequest) error { return boom })
		assert.ErrorIs(t, err, boom)
	})
	t.Run("when the broker closes", func(t *testing.T) {
		f := newFixture(t)
		id := f.request(alice, read(0)).GetId()
		revs, done := f.watch(alice, id)
		next(t, revs)
		require.NoError(t, f.b.Close())
		err := next(t, done)
		assert.Equal(t, codes.Unavailable, codeOf(err), err)
		assert.ErrorIs(t, err, broker.ErrClosed)
	})
}

// TestStuckWatcherIsEnded: a watcher that stops reading is ended with
// RESOURCE_EXHAUSTED once its buffer is full; the broker never waits for it.
func TestStuckWatcherIsEnded(t *testing.T) {
	f := newFixture(t)
	const reviewers = 20
	f.policy.Rules = append(f.policy.Rules, policy.Rule{
		Name: "crowd", Match: policy.Match{Service: "crowd.v1.Svc", Methods: []string{"/crowd.v1.Svc/*"}},
		Approvers: []string{"crowd"}, Approvals: reviewers + 1, MaxDuration: readMax, PendingTimeout: readPending,
	})
	id := f.request(alice, &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: "crowd.v1.Svc", Methods: []string{"/crowd.v1.Svc/Get"}}}).GetId()

	stuck := make(chan struct{})
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		n := 0
		done <- f.b.Watch(f.ctx(), alice, id, func(*jitv1.AccessRequest) error {
			if n++; n == 1 {
				close(first)
				<-stuck // the client stops reading after the first revision
			}
			return nil
		})
	}()
	<-first
	for i := range reviewers {
		_, err := f.approve(broker.Caller{Subject: fmt.Sprintf("r%d", i), Groups: []string{"crowd"}}, id)
		require.NoError(t, err, "reviews never wait for a stuck watcher")
	}
	close(stuck)
	err := next(t, done)
	assert.Equal(t, codes.ResourceExhausted, codeOf(err), err)
	assert.ErrorIs(t, err, broker.ErrWatcherTooSlow)
}
