package containers_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/harness/containers"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// crashAcks is how many approvals and revocations the broker acknowledges
// under load before it is killed.
const crashAcks = 150

// TestCrashDurability kills the broker container (SIGKILL) under load from
// the host and restarts it on its volume: every request, approval and
// revocation it acknowledged before the kill is still there, in the
// revocation feed and in the audit log; a revoked grant never comes back;
// the clients recover. The outage and the codes seen during it are logged.
func TestCrashDurability(t *testing.T) {
	t.Parallel()
	im := requireDocker(t)
	c := containers.StartTB(t, containers.Options{Images: im, RunID: runID, AutoApprove: time.Millisecond})
	alice := brokerClient(t, c.BrokerAddr())
	scope := &jitv1.Scope{Service: token.DevAudience, Methods: []string{"/demo.v1.Vault/Read"}, Resource: "secrets/*"}

	t.Run("a paused broker answers nothing, then carries on", func(t *testing.T) {
		require.NoError(t, c.PauseBroker(ctxFor(t, waitCall)))
		paused := true
		t.Cleanup(func() {
			if paused {
				_ = c.UnpauseBroker(ctxFor(t, waitCall))
			}
		})
		_, err := alice.RequestAccess(ctxFor(t, 500*time.Millisecond), &jitv1.RequestAccessRequest{Scope: scope})
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "err: %v", err)
		require.NoError(t, c.UnpauseBroker(ctxFor(t, waitCall)))
		paused = false
		_, err = alice.RequestAccess(ctxFor(t, waitCall), &jitv1.RequestAccessRequest{Scope: scope})
		assert.NoError(t, err)
	})

	churn := containers.StartChurn(alice, containers.ChurnOptions{Scope: scope})
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_, _ = churn.Stop()
		}
	})
	require.NoError(t, churn.WaitAcks(ctxFor(t, waitChange), crashAcks))
	before := churn.Ledger()
	require.NotEmpty(t, before.Approved, "no approval acknowledged before the kill: the test would prove nothing")
	require.NotEmpty(t, before.Revoked, "no revocation acknowledged before the kill: the test would prove nothing")

	require.NoError(t, c.KillBroker(ctxFor(t, waitCall)))
	// The outage starts once the broker is dead: calls sent between the
	// kill request and its effect may still have been answered.
	killedAt := time.Now()
	require.NoError(t, c.RestartBroker(ctxFor(t, waitChange)))
	require.NoError(t, churn.WaitRecovered(ctxFor(t, waitChange), killedAt), "clients recover after the restart")
	outage := churn.Outage(killedAt)
	ledger, err := churn.Stop()
	stopped = true
	require.NoError(t, err)
	t.Logf("acknowledged before the kill: %d requests, %d approvals, %d revocations; in all: %d, %d, %d",
		len(before.Requested), len(before.Approved), len(before.Revoked), len(ledger.Requested), len(ledger.Approved), len(ledger.Revoked))
	t.Logf("kill -9 and restart: %s, from %s to %s", outage, outage.Start.Format("15:04:05.000"), outage.End.Format("15:04:05.000"))
	assert.True(t, outage.Recovered)
	assert.NotEmpty(t, outage.Codes, "calls under way failed while the broker was down")

	t.Run("acknowledged requests survive with their state", func(t *testing.T) {
		assert.NoError(t, ledger.CheckBroker(ctxFor(t, waitChange), alice))
	})
	t.Run("acknowledged revocations are in the replayed feed", func(t *testing.T) {
		feed, err := containers.RevocationFeed(ctxFor(t, waitCall), alice)
		require.NoError(t, err)
		assert.NoError(t, ledger.CheckFeed(feed))
	})
	t.Run("the Vault refuses every revoked grant and honours live ones", func(t *testing.T) {
		v := dialVault(t, c.VaultAddr())
		grantOf := func(id string) (string, jitv1.State) {
			r, err := alice.GetRequest(ctxFor(t, waitCall), &jitv1.GetRequestRequest{Id: id})
			require.NoError(t, err)
			return r.GetGrant(), r.GetState()
		}
		revoked := make([]string, 0, len(ledger.Revoked))
		for id := range ledger.Revoked {
			g, _ := grantOf(id)
			revoked = append(revoked, g)
		}
		// The Vault follows the restarted broker's feed from where it was.
		eventually(t, waitChange, "the Vault caught up with the restarted broker", func() error {
			if err := v.read(t, revoked[0]); reason.Of(err) != reason.GrantRevoked {
				return err
			}
			return nil
		})
		for _, g := range revoked {
			err := v.read(t, g)
			assert.Equal(t, reason.GrantRevoked, reason.Of(err), "err: %v", err)
		}
		live := 0
		for id := range ledger.Approved {
			if ledger.RevokeTried[id] {
				continue
			}
			if g, st := grantOf(id); st == jitv1.State_STATE_APPROVED {
				assert.NoError(t, v.read(t, g), "request %s", id)
				live++
			}
		}
		t.Logf("%d revoked grants refused, %d live grants honoured", len(revoked), live)
		assert.Positive(t, live)
	})
	t.Run("the audit log records every acknowledged transition", func(t *testing.T) {
		recs, err := c.AuditLog(ctxFor(t, waitChange))
		require.NoError(t, err)
		t.Logf("%d audit records", len(recs))
		assert.NoError(t, ledger.CheckAudit(recs))
	})
}
