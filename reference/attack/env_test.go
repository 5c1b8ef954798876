package attack_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// stackEnv is the reference stack on bufconn with a fake clock and the
// development signers of both credentials: what a holder of a leaked or
// misused key would have.
type stackEnv struct {
	clock  *clockwork.FakeClock
	svc    *stack.Service
	vault  demov1.VaultClient
	idp    *token.Issuer
	broker *token.Issuer
	single bool
}

// startStack starts the stack at the fake instant at, with its config
// adjusted by tune (nil: defaults).
func startStack(t *testing.T, at time.Time, tune func(*stack.Config)) *stackEnv {
	t.Helper()
	e := &stackEnv{clock: clockwork.NewFakeClockAt(at)}
	e.idp = token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), e.clock)
	e.broker = token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), e.clock)
	cfg := stack.Config{Clock: e.clock}
	if tune != nil {
		tune(&cfg)
	}
	e.single = cfg.SingleToken
	svc, err := stack.New(cfg)
	require.NoError(t, err)
	e.svc = svc
	lis := bufconn.Listen(1 << 20)
	go func() { _ = svc.Serve(lis) }()
	t.Cleanup(svc.Server.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	e.vault = demov1.NewVaultClient(conn)
	return e
}
