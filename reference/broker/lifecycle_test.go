package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// inState opens a read request of alice's and drives it into each state.
var inState = map[jitv1.State]func(f *fixture) string{
	jitv1.State_STATE_PENDING: func(f *fixture) string { return f.request(alice, read(0)).GetId() },
	jitv1.State_STATE_APPROVED: func(f *fixture) string {
		id := f.request(alice, read(0)).GetId()
		_, err := f.approve(bob, id)
		require.NoError(f.t, err)
		return id
	},
	jitv1.State_STATE_DENIED: func(f *fixture) string {
		id := f.request(alice, read(0)).GetId()
		_, err := f.deny(bob, id)
		require.NoError(f.t, err)
		return id
	},
	jitv1.State_STATE_EXPIRED: func(f *fixture) string {
		id := f.request(alice, read(0)).GetId()
		revs, _ := f.watch(alice, id)
		next(f.t, revs)
		f.clock.Advance(readPending)
		waitState(f.t, revs, jitv1.State_STATE_EXPIRED)
		return id
	},
	jitv1.State_STATE_WITHDRAWN: func(f *fixture) string {
		id := f.request(alice, read(0)).GetId()
		_, err := f.withdraw(alice, id)
		require.NoError(f.t, err)
		return id
	},
	jitv1.State_STATE_ENDED: func(f *fixture) string {
		id := f.request(alice, read(0)).GetId()
		revs, _ := f.watch(alice, id)
		next(f.t, revs)
		_, err := f.approve(bob, id)
		require.NoError(f.t, err)
		f.clock.Advance(readMax)
		waitState(f.t, revs, jitv1.State_STATE_ENDED)
		return id
	},
	jitv1.State_STATE_REVOKED: func(f *fixture) string {
		id := f.request(alice, read(0)).GetId()
		_, err := f.approve(bob, id)
		require.NoError(f.t, err)
		_, err = f.revoke(bob, id)
		require.NoError(f.t, err)
		return id
	},
}

// TestTransitions tries every caller-driven transition from every state:
// the legal ones land in their target state, every other one is
// FAILED_PRECONDITION naming the state the request is in.
func TestTransitions(t *testing.T) {
	type action struct {
		name     string
		do       func(f *fixture, id string) (*jitv1.AccessRequest, error)
		from, to jitv1.State
	}
	actions := []action{
		{"approve", func(f *fixture, id string) (*jitv1.AccessRequest, error) { return f.approve(carol, id) },
			jitv1.State_STATE_PENDING, jitv1.State_STATE_APPROVED},
		{"deny", func(f *fixture, id string) (*jitv1.AccessRequest, error) { return f.deny(carol, id) },
			jitv1.State_STATE_PENDING, jitv1.State_STATE_DENIED},
		{"withdraw", func(f *fixture, id string) (*jitv1.AccessRequest, error) { return f.withdraw(alice, id) },
			jitv1.State_STATE_PENDING, jitv1.State_STATE_WITHDRAWN},
		{"revoke by an approver", func(f *fixture, id string) (*jitv1.AccessRequest, error) { return f.revoke(carol, id) },
			jitv1.State_STATE_APPROVED, jitv1.State_STATE_REVOKED},
		{"revoke by the requester", func(f *fixture, id string) (*jitv1.AccessRequest, error) { return f.revoke(alice, id) },
			jitv1.State_STATE_APPROVED, jitv1.State_STATE_REVOKED},
	}
	states := []jitv1.State{
		jitv1.State_STATE_PENDING, jitv1.State_STATE_APPROVED, jitv1.State_STATE_DENIED, jitv1.State_STATE_EXPIRED,
		jitv1.State_STATE_WITHDRAWN, jitv1.State_STATE_ENDED, jitv1.State_STATE_REVOKED,
	}
	for _, a := range actions {
		for _, s := range states {
			t.Run(a.name+" from "+s.String(), func(t *testing.T) {
				f := newFixture(t)
				id := inState[s](f)
				before, err := f.b.GetRequest(f.ctx(), alice, id)
				require.NoError(t, err)
				require.Equal(t, s, before.GetState())

				got, err := a.do(f, id)
				if s != a.from {
					require.Error(t, err)
					assert.Equal(t, codes.FailedPrecondition, codeOf(err), err)
					assert.Contains(t, err.Error(), "is "+s.String()[len("STATE_"):])
					after, _ := f.b.GetRequest(f.ctx(), alice, id)
					assert.Equal(t, before.GetRevision(), after.GetRevision(), "a refused transition changes nothing")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, a.to, got.GetState())
				assert.Equal(t, before.GetRevision()+1, got.GetRevision())
			})
		}
	}
}

// TestPermissions checks who may do what, and that the check comes before
// the state check where the brief says so.
func TestPermissions(t *testing.T) {
	tests := []struct {
		name   string
		do     func(f *fixture) error
		code   codes.Code
		reason reason.Reason
		msg    string
	}{
		{"self-approval", func(f *fixture) error {
			_, err := f.approve(sam, f.request(sam, read(0)).GetId())
			return err
		}, codes.PermissionDenied, reason.SelfApproval, "own request"},
		{"self-denial is a self-review too", func(f *fixture) error {
			_, err := f.deny(sam, f.request(sam, read(0)).GetId())
			return err
		}, codes.PermissionDenied, reason.SelfApproval, ""},
		{"self-approval is checked before the state", func(f *fixture) error {
			id := f.request(sam, read(0)).GetId()
			_, err := f.deny(bob, id)
			require.NoError(f.t, err)
			_, err = f.approve(sam, id)
			return err
		}, codes.PermissionDenied, reason.SelfApproval, ""},
		{"reviewer in no group", func(f *fixture) error {
			_, err := f.approve(eve, f.request(alice, read(0)).GetId())
			return err
		}, codes.PermissionDenied, reason.NotApprover, "policy vault-read"},
		{"reviewer in another rule's group", func(f *fixture) error {
			_, err := f.approve(dave, f.request(alice, read(0)).GetId())
			return err
		}, codes.PermissionDenied, reason.NotApprover, ""},
		{"the same reviewer twice", func(f *fixture) error {
			id := f.request(alice, write()).GetId()
			_, err := f.approve(bob, id)
			require.NoError(f.t, err)
			_, err = f.approve(bob, id)
			return err
		}, codes.FailedPrecondition, "", "a reviewer counts once"},
		{"review of an unknown id", func(f *fixture) error {
			_, err := f.approve(bob, "nope")
			return err
		}, codes.NotFound, "", "nope"},
		{"review without a decision", func(f *fixture) error {
			_, err := f.review(bob, f.request(alice, read(0)).GetId(), jitv1.Decision_DECISION_UNSPECIFIED)
			return err
		}, codes.InvalidArgument, "", "decision"},
		{"withdraw by an approver", func(f *fixture) error {
			_, err := f.withdraw(bob, f.request(alice, read(0)).GetId())
			return err
		}, codes.PermissionDenied, "", "only the requester"},
		{"withdraw by a stranger", func(f *fixture) error {
			_, err := f.withdraw(eve, f.request(alice, read(0)).GetId())
			return err
		}, codes.NotFound, "", ""},
		{"revoke by a stranger", func(f *fixture) error {
			_, err := f.revoke(eve, inState[jitv1.State_STATE_APPROVED](f))
			return err
		}, codes.NotFound, "", ""},
		{"get by a stranger", func(f *fixture) error {
			_, err := f.b.GetRequest(f.ctx(), eve, f.request(alice, read(0)).GetId())
			return err
		}, codes.NotFound, "", ""},
		{"watch by a stranger", func(f *fixture) error {
			id := f.request(alice, read(0)).GetId()
			return f.b.Watch(f.ctx(), eve, id, func(*jitv1.AccessRequest) error { return nil })
		}, codes.NotFound, "", ""},
		{"no identity", func(f *fixture) error {
			_, err := f.b.RequestAccess(f.ctx(), broker.Caller{}, read(0))
			return err
		}, codes.Unauthenticated, reason.IdentityMissing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			err := tt.do(f)
			require.Error(t, err)
			assert.Equal(t, tt.code, codeOf(err), err)
			assert.Equal(t, tt.reason, reason.Of(err))
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// TestRequestAccess checks what a new request is given by its rule, and the
// refusals of a bad one.
func TestRequestAccess(t *testing.T) {
	t.Run("fields from the rule", func(t *testing.T) {
		f := newFixture(t)
		r := f.request(alice, read(0))
		assert.Equal(t, jitv1.State_STATE_PENDING, r.GetState())
		assert.Equal(t, "alice", r.GetRequester())
		assert.Equal(t, "vault-read", r.GetPolicy())
		assert.Equal(t, int32(1), r.GetApprovalsNeeded())
		assert.Equal(t, readMax, r.GetDuration().AsDuration(), "zero duration asks for the cap")
		assert.Equal(t, start.Add(readPending), r.GetPendingUntil().AsTime())
		assert.Equal(t, start, r.GetCreatedAt().AsTime())
		assert.Equal(t, uint64(1), r.GetRevision())
		assert.NotEmpty(t, r.GetId())
	})
	tests := []struct {
		name   string
		in     *jitv1.RequestAccessRequest
		code   codes.Code
		reason reason.Reason
		msg    string
	}{
		{"no scope", &jitv1.RequestAccessRequest{}, codes.InvalidArgument, "", "scope.service"},
		{"no method", &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: vault}}, codes.InvalidArgument, "", "scope.methods"},
		{"no policy", &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: "other.v1.Svc", Methods: []string{"/other.v1.Svc/Get"}}},
			codes.PermissionDenied, reason.NoPolicy, "other.v1.Svc"},
		{"method outside every rule", &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: vault, Methods: []string{"/demo.v1.Vault/Drop"}}},
			codes.PermissionDenied, reason.NoPolicy, ""},
		{"duration over the cap", read(2 * time.Hour), codes.InvalidArgument, "",
			"requested 2h exceeds the maximum grant duration 1h of policy vault-read"},
		{"negative duration", read(-time.Minute), codes.InvalidArgument, "", "negative"},
		{"sub-second duration", read(time.Millisecond), codes.InvalidArgument, "", "minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.b.RequestAccess(f.ctx(), alice, tt.in)
			require.Error(t, err)
			assert.Equal(t, tt.code, codeOf(err), err)
			assert.Equal(t, tt.reason, reason.Of(err))
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// TestTwoOfThree: a write needs two distinct approvers; the first approval
// leaves it pending, the same reviewer again is refused, a second approver
// approves it and the grant is signed for exactly the request.
func TestTwoOfThree(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, write()).GetId()

	r, err := f.approve(bob, id)
	require.NoError(t, err)
	assert.Equal(t, jitv1.State_STATE_PENDING, r.GetState())
	assert.Len(t, r.GetReviews(), 1)

	_, err = f.approve(bob, id)
	assert.Equal(t, codes.FailedPrecondition, codeOf(err))
	assert.Contains(t, err.Error(), "a reviewer counts once")

	f.clock.Advance(2 * time.Minute)
	r, err = f.approve(dave, id)
	require.NoError(t, err)
	assert.Equal(t, jitv1.State_STATE_APPROVED, r.GetState())
	assert.Equal(t, "dave", r.GetActor())
	require.Len(t, r.GetReviews(), 2)
	assert.Equal(t, "bob", r.GetReviews()[0].GetReviewer())
	assert.Equal(t, "dave", r.GetReviews()[1].GetReviewer())
	assert.Equal(t, start.Add(2*time.Minute), r.GetReviews()[1].GetAt().AsTime())
	assert.Empty(t, r.GetGrant(), "the reviewer does not get the grant")

	mine, err := f.b.GetRequest(f.ctx(), alice, id)
	require.NoError(t, err)
	v, err := token.NewGrantVerifier(f.issuer.Keys().Public(), token.Config{Issuer: token.DevGrantIssuer, Audience: vault, Clock: f.clock})
	require.NoError(t, err)
	g, err := v.Verify(mine.GetGrant(), token.Request{Subject: "alice", Method: vaultWrit})
	require.NoError(t, err)
	assert.Equal(t, mine.GetGrantId(), g.ID)
	assert.Equal(t, id, g.RequestID)
	assert.Equal(t, mine.GetGrantExpiresAt().AsTime(), g.ExpiresAt)
	assert.Equal(t, 30*time.Minute, g.ExpiresAt.Sub(g.IssuedAt))
	_, err = v.Verify(mine.GetGrant(), token.Request{Subject: "alice", Method: vaultRead})
	assert.Equal(t, reason.GrantScopeMismatch, reason.Of(err), "the grant covers the requested methods only")
}

// TestDenyIsAbsorbing: one deny decides, whatever approvals came before.
func TestDenyIsAbsorbing(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, write()).GetId()
	_, err := f.approve(bob, id)
	require.NoError(t, err)
	r, err := f.deny(dave, id)
	require.NoError(t, err)
	assert.Equal(t, jitv1.State_STATE_DENIED, r.GetState())
	_, err = f.approve(carol, id)
	assert.Equal(t, codes.FailedPrecondition, codeOf(err))
	assert.Contains(t, err.Error(), "DENIED")
}
