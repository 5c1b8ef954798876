package containers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/harness/containers"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/token"
)

// Bounds of the waits on conditions; none of them is a sleep.
const (
	waitCall   = 5 * time.Second  // one call
	waitChange = 30 * time.Second // a state the system converges to (a restart, a feed catching up)
)

// ctxFor is a context for one step of a test.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// brokerClient is alice's client of the broker at addr.
func brokerClient(t *testing.T, addr string) jitv1.BrokerClient {
	t.Helper()
	conn, err := containers.DialBroker(addr, "alice")
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return jitv1.NewBrokerClient(conn)
}

// vault is alice calling the Vault at addr with a grant.
type vault struct {
	client   demov1.VaultClient
	identity string
}

func dialVault(t *testing.T, addr string) *vault {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	id, err := containers.DevIdentity("alice", token.DevAudience, time.Hour)
	require.NoError(t, err)
	return &vault{client: demov1.NewVaultClient(conn), identity: id}
}

// read reads the demo secret with grant.
func (v *vault) read(t *testing.T, grant string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitCall)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, interceptor.IdentityHeader, "Bearer "+v.identity, interceptor.GrantHeader, grant)
	_, err := v.client.Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
	return err
}

// approvedGrant requests Read on secrets/* as alice and returns the request
// id and grant once the broker approved it (the cluster auto-approves).
func approvedGrant(t *testing.T, alice jitv1.BrokerClient) (id, grant string) {
	t.Helper()
	ctx := ctxFor(t, waitChange)
	r, err := alice.RequestAccess(ctx, &jitv1.RequestAccessRequest{
		Scope: &jitv1.Scope{Service: token.DevAudience, Methods: []string{"/demo.v1.Vault/Read"}, Resource: "secrets/*"}})
	require.NoError(t, err)
	eventually(t, waitChange, "request "+r.GetId()+" approved", func() error {
		got, err := alice.GetRequest(ctx, &jitv1.GetRequestRequest{Id: r.GetId()})
		if err == nil && got.GetState() != jitv1.State_STATE_APPROVED {
			return errState(got.GetState())
		}
		grant = got.GetGrant()
		return err
	})
	return r.GetId(), grant
}

type errState jitv1.State

func (e errState) Error() string { return "state " + jitv1.State(e).String() }

// eventually calls cond until it returns nil, every 50ms, failing t after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(50 * time.Millisecond) // a poll interval, not a wait for an effect
	}
}
