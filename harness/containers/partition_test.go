package containers_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/containers"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/reason"
)

// The partition tests' Vault: its revocation view may be 2 s old; the
// broker's heartbeat comes every 250 ms, so only a partition makes it stale.
const (
	partitionStaleness = 2 * time.Second
	partitionHeartbeat = 250 * time.Millisecond
	// failClosedFor is how long the strict test keeps calling once the Vault failed closed.
	failClosedFor = 1500 * time.Millisecond
	// refusedCalls is how many calls must all be refused once a revocation arrived.
	refusedCalls = 20
)

// partitioned starts a cluster in mode, obtains a grant the Vault accepts,
// cuts the Vault from the broker, checks that this is a real partition
// (the host still reaches the Vault, which is off the private network) and
// revokes the grant at the broker, through the host.
func partitioned(t *testing.T, mode brokerclient.Mode) (c *containers.Cluster, v *vault, alice jitv1.BrokerClient, grant string, at time.Time) {
	t.Helper()
	im := requireDocker(t)
	c = containers.StartTB(t, containers.Options{Images: im, RunID: runID, AutoApprove: time.Millisecond,
		RevocationMode: mode, MaxStaleness: partitionStaleness, Heartbeat: partitionHeartbeat})
	alice = brokerClient(t, c.BrokerAddr())
	v = dialVault(t, c.VaultAddr())
	id, grant := approvedGrant(t, alice)
	require.NoError(t, v.read(t, grant), "the grant works before the partition")

	at = time.Now()
	require.NoError(t, c.DisconnectVault(ctxFor(t, waitCall)))
	nets, err := c.VaultNetworks(ctxFor(t, waitCall))
	require.NoError(t, err)
	require.NotContains(t, nets, c.PrivateNetwork(), "the Vault is off the network it shares with the broker")
	require.NoError(t, containers.WaitHealthy(ctxFor(t, waitCall), c.VaultAddr()), "the host still reaches the Vault")
	r, err := alice.Revoke(ctxFor(t, waitCall), &jitv1.RevokeRequest{Id: id, Comment: "revoked during the partition"})
	require.NoError(t, err, "the host still reaches the broker")
	require.Equal(t, jitv1.State_STATE_REVOKED, r.GetState())
	return c, v, alice, grant, at
}

// TestPartitionStrictFailsClosed: a strict Vault cut from its broker stops
// honouring grants once its revocation view is older than its bound, a
// revoked grant and a live one alike, until the partition heals; then the
// revoked grant is refused as revoked and the live one works again.
func TestPartitionStrictFailsClosed(t *testing.T) {
	t.Parallel()
	c, v, alice, revoked, partitionAt := partitioned(t, brokerclient.Strict)
	_, live := approvedGrant(t, alice) // issued during the partition: its key is the one the Vault has

	// Until the bound, the Vault cannot know of the revocation: the grant may still pass.
	passedBefore, err := v.passesUntilRefused(t, revoked, "the strict Vault fails closed")
	failedAt := time.Now()
	d := reason.FromError(err)
	require.Equal(t, codes.PermissionDenied, d.Code, "err: %v", err)
	require.Equal(t, reason.RevocationViewStale, d.Reason,
		"the Vault refuses because its view is stale, not because it heard of the revocation: the partition is real")
	t.Logf("strict: failed closed %s after the partition (bound %s); %d calls with the revoked grant passed before",
		failedAt.Sub(partitionAt).Round(time.Millisecond), partitionStaleness, passedBefore)

	calls := 0
	for time.Since(failedAt) < failClosedFor {
		for _, g := range []string{revoked, live} {
			calls++
			assert.Equal(t, reason.RevocationViewStale, reason.Of(v.read(t, g)), "no grant passes while the view is stale")
		}
	}
	t.Logf("strict: %d calls during the next %s, none passed", calls, failClosedFor)

	// Another container takes the Vault's old address meanwhile, as a new
	// pod would: the Vault comes back on a new one, and its old connection
	// to the broker is dead without a word. It must notice and reconnect.
	squat(t, c)
	require.NoError(t, c.ReconnectVault(ctxFor(t, waitCall)))
	healedAt := time.Now()
	// Noticing a dead connection takes keepalive's 10 s ping and 5 s wait, then a reconnect.
	eventually(t, 2*waitChange, "the live grant works again once the partition healed", func() error { return v.read(t, live) })
	t.Logf("strict: the Vault, back on a new address, honoured grants again %s after the partition healed", time.Since(healedAt).Round(time.Millisecond))
	for range refusedCalls {
		assert.Equal(t, reason.GrantRevoked, reason.Of(v.read(t, revoked)), "the revocation made during the partition arrived")
	}
}

// TestPartitionBestEffortCountsWhatPassed: a best_effort Vault cut from its
// broker keeps honouring a grant revoked meanwhile, past its staleness
// bound: every call with it passes until the partition heals and the feed
// catches up, and every call after the first refusal is refused as revoked.
// The test records exactly how many passed.
func TestPartitionBestEffortCountsWhatPassed(t *testing.T) {
	t.Parallel()
	c, v, _, revoked, partitionAt := partitioned(t, brokerclient.BestEffort)

	// The partition lasts past the staleness bound: best_effort keeps the last view.
	calls, passed := 0, 0
	until := partitionAt.Add(partitionStaleness + time.Second)
	for time.Now().Before(until) {
		calls++
		if err := v.read(t, revoked); err == nil {
			passed++
		} else {
			t.Errorf("call %d during the partition refused: %v", calls, err)
		}
	}
	require.NoError(t, c.ReconnectVault(ctxFor(t, waitCall)))
	healedAt := time.Now()

	passedAfter, err := v.passesUntilRefused(t, revoked, "the revocation reaches the Vault once the partition healed")
	assert.Equal(t, reason.GrantRevoked, reason.Of(err), "the first refusal is the revocation: %v", err)
	for range refusedCalls {
		assert.Equal(t, reason.GrantRevoked, reason.Of(v.read(t, revoked)), "once refused, a revoked grant never passes again")
	}
	t.Logf("best_effort: %d of %d calls with the revoked grant passed during the %s partition (bound %s), %d more in the %s after it healed; then refused GRANT_REVOKED",
		passed, calls, until.Sub(partitionAt).Round(time.Millisecond), partitionStaleness, passedAfter, time.Since(healedAt).Round(time.Millisecond))
	assert.Equal(t, calls, passed, "best_effort honours the last view: every call during the partition passes")
	assert.Positive(t, calls)
}

// squat starts a container on the cluster's private network, labelled as
// the cluster's so its Close removes it: it takes the lowest free address,
// the one the Vault had before DisconnectVault.
func squat(t *testing.T, c *containers.Cluster) {
	t.Helper()
	ctr, err := testcontainers.GenericContainer(ctxFor(t, waitChange), testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: c.Options().Images.Broker, Networks: []string{c.PrivateNetwork()},
			Labels: map[string]string{containers.LabelRun: c.RunID(), containers.LabelCluster: c.ID(), containers.LabelRole: "squatter"},
		},
		Started: true, Logger: log.NewNoopLogger(),
	})
	require.NoError(t, err)
	require.True(t, ctr.IsRunning())
}

// errStillPasses is what a wait for a refusal sees while calls pass.
var errStillPasses = errors.New("the grant still passes")

// passesUntilRefused calls with grant until a call is refused, and returns
// how many passed before and the refusal.
func (v *vault) passesUntilRefused(t *testing.T, grant, what string) (passed int, refusal error) {
	t.Helper()
	eventually(t, waitChange, what, func() error {
		if refusal = v.read(t, grant); refusal == nil {
			passed++
			return errStillPasses
		}
		return nil
	})
	return passed, refusal
}
