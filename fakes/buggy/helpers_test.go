package buggy

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jitbench/jitbench/fakes"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// target is a served Vault and a client connection to it.
type target struct {
	conn  *grpc.ClientConn
	calls func() int64 // handler runs so far
}

// serve serves srv on bufconn until the test ends.
func serve(t *testing.T, srv *grpc.Server, stop func(), calls func() int64) *target {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(stop)
	conn, err := grpc.NewClient("passthrough:///buggy",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &target{conn: conn, calls: calls}
}

// startService serves the service with bug ("" for none) at the fixture's time.
func startService(t *testing.T, bug string, f *fixture) (*Service, *target) {
	t.Helper()
	svc, err := newService(bug, Config{Clock: f.clock})
	require.NoError(t, err)
	return svc, serve(t, svc.Server, svc.Stop, svc.HandlerCalls)
}

// startReference serves the reference stack with the same defaults.
func startReference(t *testing.T, f *fixture) *target {
	t.Helper()
	svc, err := stack.New(stack.Config{Clock: f.clock})
	require.NoError(t, err)
	return serve(t, svc.Server, svc.Server.Stop, svc.Vault.TotalHandlerCalls)
}

// fixture holds what a well-behaved caller has, at a fake time, and forgers
// for the conformance catalog's broken credentials.
type fixture struct {
	clock     *clockwork.FakeClock
	identity  string // alice's
	grant     string // alice's, Read on secrets/*
	listGrant string // alice's, Read, Write and List on secrets/*
	grants    *fakes.Forger
	ids       *fakes.Forger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: clockwork.NewFakeClockAt(t0)}
	var err error
	f.identity, err = fakes.DevIdentityProvider(f.clock).Token("alice", nil, token.DevAudience, 10*time.Minute)
	require.NoError(t, err)
	f.grant = issueGrant(t, f.clock, "secrets/*", demov1.Vault_Read_FullMethodName)
	f.listGrant = issueGrant(t, f.clock, "secrets/*",
		demov1.Vault_Read_FullMethodName, demov1.Vault_Write_FullMethodName, demov1.Vault_List_FullMethodName)
	forger := func(issuer, credential string) *fakes.Forger {
		return &fakes.Forger{Keys: token.DevKeySet(issuer), Issuer: issuer, Audience: token.DevAudience,
			Subject: "alice", Clock: f.clock, Credential: credential, MaxTokenBytes: token.DefaultMaxTokenBytes}
	}
	f.grants = forger(token.DevGrantIssuer, fakes.CredentialGrant)
	f.ids = forger(token.DevIdentityIssuer, fakes.CredentialIdentity)
	return f
}

// issueGrant has the development broker, telling time by clock, grant alice methods on resource for five minutes.
func issueGrant(t *testing.T, clock clockwork.Clock, resource string, methods ...string) string {
	t.Helper()
	broker := token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clock)
	raw, _, err := broker.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience,
		Scope: token.Scope{Methods: methods, Resource: resource}, TTL: 5 * time.Minute})
	require.NoError(t, err)
	return raw
}

// call is one Vault call: Read of path, or List of path as a prefix.
type call struct {
	list  bool
	path  string
	auth  []string // authorization values
	grant string
}

// valid is a Read of a secret with alice's identity and grant.
func (f *fixture) valid() call {
	return call{path: "secrets/db/password", auth: []string{"Bearer " + f.identity}, grant: f.grant}
}

// outcome is what a call got back.
type outcome struct {
	code    codes.Code
	reason  reason.Reason
	message string
	ran     bool // a Vault handler ran
	echoed  bool // the denial quotes a credential of the call
}

// do makes the call c on tg.
func (tg *target) do(t *testing.T, c call) outcome {
	t.Helper()
	var md []string
	for _, a := range c.auth {
		md = append(md, identityHeader, a)
	}
	if c.grant != "" {
		md = append(md, grantHeader, c.grant)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	before := tg.calls()
	client := demov1.NewVaultClient(tg.conn)
	var err error
	if c.list {
		err = drain(client.List(ctx, &demov1.ListRequest{Prefix: c.path}))
	} else {
		_, err = client.Read(ctx, &demov1.ReadRequest{Path: c.path})
	}
	d := reason.FromError(err)
	out := outcome{code: d.Code, reason: d.Reason, message: d.Message, ran: tg.calls() > before}
	texts := []string{d.Message}
	for k, v := range d.Metadata {
		texts = append(texts, k, v)
	}
	out.echoed = echoes(texts, slices.Concat(c.auth, []string{c.grant})...)
	return out
}

// drain reads a List stream to its end.
func drain(stream grpc.ServerStreamingClient[demov1.ListResponse], err error) error {
	for err == nil {
		_, err = stream.Recv()
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// echoes reports whether any text quotes a segment (12 characters or more) of a credential.
func echoes(texts []string, credentials ...string) bool {
	for _, cred := range credentials {
		cred = strings.TrimPrefix(cred, "Bearer ")
		for _, seg := range strings.Split(cred, ".") {
			if len(seg) < 12 {
				continue
			}
			for _, s := range texts {
				if strings.Contains(s, seg) {
					return true
				}
			}
		}
	}
	return false
}
