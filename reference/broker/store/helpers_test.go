package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// epoch is the fixed instant test records are stamped with.
var epoch = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)

// newRequest returns a request with every field set, so a round trip
// proves nothing is dropped.
func newRequest(id string) *jitv1.AccessRequest {
	return &jitv1.AccessRequest{
		Id:            id,
		Requester:     "alice",
		Scope:         &jitv1.Scope{Service: "demo.v1.Vault", Methods: []string{"/demo.v1.Vault/Get", "/demo.v1.Vault/List*"}, Resource: "secrets/db"},
		Justification: "INC-1234",
		Duration:      durationpb.New(15 * time.Minute),
		OneShot:       true,
		State:         jitv1.State_STATE_APPROVED,
		CreatedAt:     timestamppb.New(epoch),
		UpdatedAt:     timestamppb.New(epoch.Add(time.Second)),
		PendingUntil:  timestamppb.New(epoch.Add(15 * time.Minute)),
		Reviews: []*jitv1.Review{{
			Reviewer: "bob", Decision: jitv1.Decision_DECISION_APPROVE, Comment: "ok", At: timestamppb.New(epoch.Add(time.Second)),
		}},
		ApprovalsNeeded: 1,
		Policy:          "vault",
		Grant:           "eyJ.payload.sig",
		GrantId:         "g-" + id,
		GrantExpiresAt:  timestamppb.New(epoch.Add(16 * time.Minute)),
		Actor:           "bob",
		StateReason:     "approved by bob",
		Revision:        3,
	}
}

// newRevocation returns a revocation of grant id.
func newRevocation(grantID string) *jitv1.RevocationEvent {
	return &jitv1.RevocationEvent{
		GrantId:        grantID,
		GrantExpiresAt: timestamppb.New(epoch.Add(time.Hour)),
		RevokedAt:      timestamppb.New(epoch.Add(time.Minute)),
	}
}

// newAudit returns an audit record with every field set.
func newAudit(requestID string) AuditRecord {
	return AuditRecord{
		At: epoch, RequestID: requestID, Actor: "bob", Action: "approved",
		From: "PENDING", To: "APPROVED", Reason: "looks fine",
		ApprovalLatency: 1500 * time.Millisecond, GrantID: "g-" + requestID,
	}
}

// allRequests collects a store's requests by id.
func allRequests(t testing.TB, s Store) map[string]*jitv1.AccessRequest {
	t.Helper()
	got := make(map[string]*jitv1.AccessRequest)
	require.NoError(t, s.Requests(func(r *jitv1.AccessRequest) bool {
		got[r.GetId()] = r
		return true
	}))
	return got
}

// allRevocations collects a store's revocations after a sequence.
func allRevocations(t testing.TB, s Store, after uint64) []*jitv1.RevocationEvent {
	t.Helper()
	var got []*jitv1.RevocationEvent
	require.NoError(t, s.Revocations(after, func(ev *jitv1.RevocationEvent) bool {
		got = append(got, ev)
		return true
	}))
	return got
}

// allAudit collects a store's audit records after a sequence.
func allAudit(t testing.TB, s Store, after uint64) []AuditRecord {
	t.Helper()
	var got []AuditRecord
	require.NoError(t, s.Audit(after, func(rec AuditRecord) bool {
		got = append(got, rec)
		return true
	}))
	return got
}

// ids returns n distinct request ids with a prefix.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}
