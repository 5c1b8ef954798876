package load_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reports"
)

// The result keeps what the server said, not only its code: issue 15's
// INVALID_ARGUMENT "(no reason)" was "path is required".
func TestResultKeepsStatusMessages(t *testing.T) {
	var n atomic.Int64
	g := newGen(t, load.Options{Target: load.TargetFunc(func(context.Context) error {
		if n.Add(1)%4 == 0 {
			return reason.New(reason.GrantExpired, "the token expired 3s ago (leeway 30s)")
		}
		return status.Error(codes.InvalidArgument, "path is required")
	}), Concurrency: 2, Calls: 40})
	res, err := g.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []reports.MessageCounts{
		{Code: "INVALID_ARGUMENT", Top: []reports.MessageCount{{Message: "path is required", Calls: 30}}},
		{Code: "PERMISSION_DENIED", Reason: "GRANT_EXPIRED", Top: []reports.MessageCount{{Message: "the token expired 3s ago (leeway 30s)", Calls: 10}}},
	}, res.Messages)
}

// TestReportsRedactTokensEchoedByTheServer: a careless server echoes the
// credentials it refused in its status message, over a real gRPC call.
// The result keeps the message, with both tokens (the Bearer identity and
// the JIT grant) redacted, in every format.
func TestReportsRedactTokensEchoedByTheServer(t *testing.T) {
	var mu sync.Mutex
	echoed := map[string]bool{}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		auth, grant := strings.Join(md.Get("authorization"), ","), strings.Join(md.Get(interceptor.GrantHeader), ",")
		mu.Lock()
		echoed[strings.TrimPrefix(auth, "Bearer ")], echoed[grant] = true, true
		mu.Unlock()
		return status.Errorf(codes.Unauthenticated, "refused authorization %q with grant %s", auth, grant)
	}))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conns, err := load.Dial(t.Context(), "echo", load.DialOptions{Dialer: func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conns[0].Close() })
	target, err := load.NewMethod(conns, "/echo.v1.Echo/Call", nil, false)
	require.NoError(t, err)
	minting := stack.DevMinting("alice", time.Minute, nil)
	creds, err := load.NewGrants(load.GrantConfig{Mode: load.PerCall, Method: "/echo.v1.Echo/Call", Identity: minting, Source: load.Shared(minting)})
	require.NoError(t, err)

	res, err := newGen(t, load.Options{Target: target, Credentials: creds, Concurrency: 2, Calls: 10}).Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Messages, 1)
	assert.Equal(t, reports.MessageCount{Message: `refused authorization "Bearer [redacted]" with grant [redacted]`, Calls: 10},
		res.Messages[0].Top[0], "ten distinct messages, one once redacted")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, echoed, 12, "an identity per worker, a grant per call")
	for _, format := range reports.Formats() {
		var b bytes.Buffer
		require.NoError(t, reports.Render(&b, res, format))
		for tok := range echoed {
			for _, seg := range strings.Split(tok, ".") {
				require.NotContains(t, b.String(), seg, "%s: a part of a token", format)
			}
		}
	}
}
