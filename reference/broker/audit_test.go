package broker_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// TestEveryTransitionIsAudited walks each path through the lifecycle and
// checks the records: who, what, from and to, why, the grant id where there
// is one, and the approval latency on decisions.
func TestEveryTransitionIsAudited(t *testing.T) {
	tests := []struct {
		name    string
		run     func(f *fixture) string
		want    []string
		latency map[string]time.Duration
	}{
		{"approved then revoked", func(f *fixture) string {
			id := f.request(alice, write()).GetId()
			f.clock.Advance(time.Minute)
			_, err := f.approve(bob, id)
			require.NoError(f.t, err)
			f.clock.Advance(time.Minute)
			_, err = f.approve(dave, id)
			require.NoError(f.t, err)
			_, err = f.revoke(alice, id)
			require.NoError(f.t, err)
			return id
		}, []string{
			"requested >PENDING by alice",
			"reviewed PENDING>PENDING by bob",
			"reviewed PENDING>APPROVED by dave",
			"approved PENDING>APPROVED by dave",
			"grant_issued PENDING>APPROVED by dave",
			"revoked APPROVED>REVOKED by alice",
		}, map[string]time.Duration{"approved": 2 * time.Minute}},
		{"denied", func(f *fixture) string {
			id := f.request(alice, read(0)).GetId()
			f.clock.Advance(90 * time.Second)
			_, err := f.deny(bob, id)
			require.NoError(f.t, err)
			return id
		}, []string{
			"requested >PENDING by alice",
			"reviewed PENDING>DENIED by bob",
			"denied PENDING>DENIED by bob",
		}, map[string]time.Duration{"denied": 90 * time.Second}},
		{"withdrawn", func(f *fixture) string {
			id := f.request(alice, read(0)).GetId()
			_, err := f.withdraw(alice, id)
			require.NoError(f.t, err)
			return id
		}, []string{"requested >PENDING by alice", "withdrawn PENDING>WITHDRAWN by alice"}, nil},
		{"expired", func(f *fixture) string { return inState[jitv1.State_STATE_EXPIRED](f) },
			[]string{"requested >PENDING by alice", "expired PENDING>EXPIRED by timer"}, nil},
		{"ended", func(f *fixture) string { return inState[jitv1.State_STATE_ENDED](f) }, []string{
			"requested >PENDING by alice",
			"reviewed PENDING>APPROVED by bob",
			"approved PENDING>APPROVED by bob",
			"grant_issued PENDING>APPROVED by bob",
			"ended APPROVED>ENDED by timer",
		}, map[string]time.Duration{"approved": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := tt.run(f)
			recs := f.audit(id)
			assert.Equal(t, tt.want, actions(recs))
			final, err := f.b.GetRequest(f.ctx(), alice, id)
			require.NoError(t, err)
			for i, r := range recs {
				assert.Equal(t, id, r.RequestID)
				assert.NotZero(t, r.Seq)
				assert.False(t, r.At.IsZero())
				if i > 0 {
					assert.False(t, r.At.Before(recs[i-1].At), "records are in time order")
				}
				want, decision := tt.latency[r.Action]
				if decision {
					assert.Equal(t, want, r.ApprovalLatency, r.Action)
				} else {
					assert.Zero(t, r.ApprovalLatency, r.Action)
				}
				switch r.Action {
				case "requested":
					assert.Equal(t, final.GetJustification(), r.Reason)
				case "reviewed":
					assert.Equal(t, "ok by "+r.Actor, r.Reason, "the reviewer's comment")
				}
				switch r.Action {
				case "grant_issued", "revoked", "ended":
					assert.Equal(t, final.GetGrantId(), r.GrantID, r.Action)
				default:
					assert.Empty(t, r.GrantID, r.Action)
				}
			}
		})
	}
}

// TestAuditIsHashChained checks the broker's log from the outside, as an
// auditor with only the exported records would: each record's hash is
// SHA-256 over the previous record's hash (32 zero bytes before the first)
// and the record's JSON without its hash.
func TestAuditIsHashChained(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, write()).GetId()
	_, err := f.approve(bob, id)
	require.NoError(t, err)
	_, err = f.approve(dave, id)
	require.NoError(t, err)
	_, err = f.revoke(alice, id)
	require.NoError(t, err)
	f.request(alice, read(0))

	recs := f.audit("")
	require.Greater(t, len(recs), 5)
	prev := make([]byte, sha256.Size)
	for _, r := range recs {
		canonical := r
		canonical.Hash = ""
		data, err := json.Marshal(canonical)
		require.NoError(t, err)
		sum := sha256.Sum256(append(append([]byte(nil), prev...), data...))
		assert.Equal(t, hex.EncodeToString(sum[:]), r.Hash, "record %d", r.Seq)
		prev = sum[:]
	}
}
