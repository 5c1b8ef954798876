package containers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/harness/containers"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// ledgerFixture: r1 approved (g1), r2 approved and revoked (g2), r3
// approved with a revocation sent but unanswered (g3), r4 still pending.
func ledgerFixture() containers.Ledger {
	return containers.Ledger{
		Requested:   map[string]bool{"r1": true, "r2": true, "r3": true, "r4": true},
		Approved:    map[string]string{"r1": "g1", "r2": "g2", "r3": "g3"},
		RevokeTried: map[string]bool{"r2": true, "r3": true},
		Revoked:     map[string]string{"r2": "g2"},
	}
}

// brokerState answers GetRequest from a map; other methods are not called.
type brokerState struct {
	jitv1.BrokerClient
	requests map[string]*jitv1.AccessRequest
}

func (b brokerState) GetRequest(_ context.Context, in *jitv1.GetRequestRequest, _ ...grpc.CallOption) (*jitv1.AccessRequest, error) {
	r, ok := b.requests[in.GetId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such request")
	}
	return r, nil
}

func TestLedgerCheckBroker(t *testing.T) {
	req := func(state jitv1.State, gid string) *jitv1.AccessRequest {
		return &jitv1.AccessRequest{State: state, GrantId: gid}
	}
	durable := func() map[string]*jitv1.AccessRequest {
		return map[string]*jitv1.AccessRequest{
			"r1": req(jitv1.State_STATE_ENDED, "g1"), "r2": req(jitv1.State_STATE_REVOKED, "g2"),
			"r3": req(jitv1.State_STATE_APPROVED, "g3"), "r4": req(jitv1.State_STATE_DENIED, ""),
		}
	}
	tests := []struct {
		name   string
		change func(map[string]*jitv1.AccessRequest)
		err    string
	}{
		{"all there", func(map[string]*jitv1.AccessRequest) {}, ""},
		{"a request lost", func(m map[string]*jitv1.AccessRequest) { delete(m, "r4") }, "request r4: rpc error: code = NotFound"},
		{"a revoked grant came back", func(m map[string]*jitv1.AccessRequest) { m["r2"].State = jitv1.State_STATE_APPROVED },
			"request r2 is STATE_APPROVED, want one of [STATE_REVOKED]"},
		{"another grant", func(m map[string]*jitv1.AccessRequest) { m["r1"].GrantId = "g9" }, "request r1 was approved with grant g1, now has \"g9\""},
		{"approved went back to pending", func(m map[string]*jitv1.AccessRequest) { m["r1"].State = jitv1.State_STATE_PENDING }, "request r1 is STATE_PENDING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := durable()
			tt.change(m)
			err := ledgerFixture().CheckBroker(t.Context(), brokerState{requests: m})
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, containers.ErrNotDurable)
			assert.ErrorContains(t, err, tt.err)
		})
	}
}

func TestLedgerCheckFeed(t *testing.T) {
	assert.NoError(t, ledgerFixture().CheckFeed(map[string]bool{"g2": true, "g7": true}))
	err := ledgerFixture().CheckFeed(map[string]bool{"g3": true})
	assert.ErrorIs(t, err, containers.ErrNotDurable)
	assert.ErrorContains(t, err, "revoked grant g2 is not in the revocation feed")
}

func TestLedgerCheckAudit(t *testing.T) {
	full := func() []store.AuditRecord {
		recs := []store.AuditRecord{
			{RequestID: "r1", Action: "requested"}, {RequestID: "r2", Action: "requested"},
			{RequestID: "r3", Action: "requested"}, {RequestID: "r4", Action: "requested"},
			{RequestID: "r1", Action: "approved"}, {RequestID: "r1", Action: "grant_issued", GrantID: "g1"},
			{RequestID: "r2", Action: "approved"}, {RequestID: "r2", Action: "grant_issued", GrantID: "g2"},
			{RequestID: "r3", Action: "approved"}, {RequestID: "r3", Action: "grant_issued", GrantID: "g3"},
			{RequestID: "r2", Action: "revoked", GrantID: "g2"},
		}
		for i := range recs {
			recs[i].Seq = uint64(i + 1)
		}
		return recs
	}
	tests := []struct {
		name   string
		change func([]store.AuditRecord) []store.AuditRecord
		err    string
	}{
		{"complete", func(r []store.AuditRecord) []store.AuditRecord { return r }, ""},
		{"no revoked record", func(r []store.AuditRecord) []store.AuditRecord { return r[:len(r)-1] }, `request r2: revoked record names ""`},
		{"a hole in the sequence", func(r []store.AuditRecord) []store.AuditRecord { return append(r[:3], r[4:]...) }, "audit record 4 has seq 5"},
		{"grant issued under another id", func(r []store.AuditRecord) []store.AuditRecord { r[5].GrantID = "g9"; return r }, `request r1: grant_issued record names "g9", want g1`},
		{"request not recorded", func(r []store.AuditRecord) []store.AuditRecord {
			r[3].RequestID = "r5"
			return r
		}, "request r4: no requested record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ledgerFixture().CheckAudit(tt.change(full()))
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, containers.ErrNotDurable)
			assert.ErrorContains(t, err, tt.err)
		})
	}
}
