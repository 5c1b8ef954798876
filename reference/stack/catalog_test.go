package stack_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

var epoch = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// env is a reference service on bufconn with issuers for its two credentials.
type env struct {
	svc      *stack.Service
	conn     *grpc.ClientConn
	clock    *clockwork.FakeClock
	idp      *token.Issuer
	broker   *token.Issuer
	revoked  *token.RevocationSet
	staleErr error
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with the service's config adjusted by tune.
func newEnvWith(t *testing.T, tune func(*stack.Config)) *env {
	t.Helper()
	e := &env{clock: clockwork.NewFakeClockAt(epoch), revoked: token.NewRevocationSet()}
	e.idp = token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), e.clock)
	e.broker = token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), e.clock)
	cfg := stack.Config{
		Clock:      e.clock,
		AccessHint: "broker.example:7443",
		Revocations: token.RevocationsFunc(func(jti string, now time.Time) error {
			if e.staleErr != nil {
				return e.staleErr
			}
			return e.revoked.Check(jti, now)
		}),
	}
	if tune != nil {
		tune(&cfg)
	}
	svc, err := stack.New(cfg)
	require.NoError(t, err)
	e.svc = svc
	lis := bufconn.Listen(1 << 20)
	go func() { _ = svc.Serve(lis) }()
	t.Cleanup(svc.Server.Stop)
	e.conn, err = grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.conn.Close() })
	return e
}

func (e *env) identity(t *testing.T, sub string) string {
	t.Helper()
	raw, err := e.idp.Identity(token.IdentitySpec{Subject: sub, Audience: token.DevAudience, TTL: 10 * time.Minute})
	require.NoError(t, err)
	return raw
}

func (e *env) grant(t *testing.T, spec token.GrantSpec) string {
	t.Helper()
	if spec.Subject == "" {
		spec.Subject = "alice"
	}
	if spec.Audience == "" {
		spec.Audience = token.DevAudience
	}
	if len(spec.Scope.Methods) == 0 {
		spec.Scope = token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}, Resource: "secrets/*"}
	}
	if spec.TTL == 0 {
		spec.TTL = 5 * time.Minute
	}
	raw, _, err := e.broker.Grant(spec)
	require.NoError(t, err)
	return raw
}

// signWith signs a grant-shaped claims set with key, bypassing the issuer's checks.
func signWith(t *testing.T, key *token.Key, typ string, c jwt.Claims) string {
	t.Helper()
	raw, err := token.Sign(key, typ, c)
	require.NoError(t, err)
	return raw
}

func devKey(t *testing.T, issuer, alg string) *token.Key {
	t.Helper()
	k, err := token.DevKeySet(issuer).Lookup(token.DevKeyID(issuer, alg), epoch)
	require.NoError(t, err)
	return k
}

// call makes one call with the given metadata pairs; read is a unary Read of
// path, otherwise a List of path as prefix (a stream).
type call struct {
	method string // "read", "write" or "list"
	path   string
	md     []string
	creds  *interceptor.Credentials
	ttl    time.Duration
}

func (e *env) do(t *testing.T, c call) error {
	t.Helper()
	ttl := c.ttl
	if ttl == 0 {
		ttl = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), ttl)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, c.md...)
	var opts []grpc.CallOption
	if c.creds != nil {
		opts = append(opts, grpc.PerRPCCredentials(c.creds))
	}
	client := demov1.NewVaultClient(e.conn)
	path := c.path
	switch path {
	case "":
		path = "secrets/db/password"
	case "(everything)":
		path = ""
	}
	switch c.method {
	case "write":
		_, err := client.Write(ctx, &demov1.WriteRequest{Path: path, Value: []byte("x")}, opts...)
		return err
	case "list":
		stream, err := client.List(ctx, &demov1.ListRequest{Prefix: path}, opts...)
		if err != nil {
			return err
		}
		for {
			if _, err := stream.Recv(); err != nil {
				if errors.Is(err, context.Canceled) {
					return err
				}
				if strings.Contains(err.Error(), "EOF") {
					return nil
				}
				return err
			}
		}
	default:
		_, err := client.Read(ctx, &demov1.ReadRequest{Path: path}, opts...)
		return err
	}
}

func bearer(raw string) []string { return []string{"authorization", "Bearer " + raw} }

func with(md ...[]string) []string {
	var out []string
	for _, m := range md {
		out = append(out, m...)
	}
	return out
}

func grantMD(raw string) []string { return []string{"x-jit-grant", raw} }

// TestEveryReasonThroughGRPC produces every reason of the catalog through a
// real gRPC call and checks the code, the reason and that the handler never ran.
func TestEveryReasonThroughGRPC(t *testing.T) {

	type tc struct {
		name  string
		want  reason.Reason
		setup func(t *testing.T, e *env) call
	}
	// Cases judged on their second call: the first one must succeed.
	repeat := map[reason.Reason]bool{reason.GrantReplayed: true}
	// Cases that need a service of their own.
	tune := map[reason.Reason]func(*stack.Config){reason.OneShotRegisterFull: func(c *stack.Config) { c.OneShotCapacity = 1 }}
	cases := []tc{
		{"no identity", reason.IdentityMissing, func(t *testing.T, e *env) call { return call{} }},
		{"basic scheme", reason.IdentityMalformed, func(t *testing.T, e *env) call {
			return call{md: []string{"authorization", "Basic YWxpY2U6cHc="}}
		}},
		{"two authorization values", reason.IdentityMalformed, func(t *testing.T, e *env) call {
			id := e.identity(t, "alice")
			return call{md: with(bearer(id), bearer(id))}
		}},
		{"identity from the wrong issuer", reason.IdentityInvalid, func(t *testing.T, e *env) call {
			return call{md: bearer(signWith(t, devKey(t, token.DevGrantIssuer, token.EdDSA), token.TypeIdentity, &token.IdentityClaims{Claims: token.Claims{
				Issuer: token.DevIdentityIssuer, Subject: "alice", Audience: jwt.ClaimStrings{token.DevAudience},
				IssuedAt: token.At(epoch), ExpiresAt: token.At(epoch.Add(time.Minute))}}))}
		}},
		{"identity expired", reason.IdentityExpired, func(t *testing.T, e *env) call {
			id := e.identity(t, "alice")
			e.clock.Advance(time.Hour)
			return call{md: bearer(id)}
		}},
		{"no grant", reason.GrantMissing, func(t *testing.T, e *env) call {
			return call{md: bearer(e.identity(t, "alice"))}
		}},
		{"grant not a JWT", reason.GrantMalformed, func(t *testing.T, e *env) call {
			return call{md: with(bearer(e.identity(t, "alice")), grantMD("not-a-jwt"))}
		}},
		{"64 KiB of dots", reason.GrantTooLarge, func(t *testing.T, e *env) call {
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(strings.Repeat(".", 64<<10)))}
		}},
		{"grant signed HS256", reason.GrantAlgMismatch, func(t *testing.T, e *env) call {
			c := e.broker
			hs := token.NewIssuer(c.Name(), token.NewKeySet(devKey(t, token.DevGrantIssuer, token.HS256)), e.clock)
			raw, _, err := hs.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Minute,
				Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}})
			require.NoError(t, err)
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"tampered payload", reason.GrantBadSignature, func(t *testing.T, e *env) call {
			good := e.grant(t, token.GrantSpec{})
			other := e.grant(t, token.GrantSpec{Scope: token.Scope{Methods: []string{"/demo.v1.Vault/*"}}})
			g, o := strings.Split(good, "."), strings.Split(other, ".")
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(g[0]+"."+o[1]+"."+g[2]))}
		}},
		{"unknown kid", reason.GrantUnknownKey, func(t *testing.T, e *env) call {
			k, err := token.GenerateKey(token.EdDSA, "attacker-key")
			require.NoError(t, err)
			rogue := token.NewIssuer(token.DevGrantIssuer, token.NewKeySet(k), e.clock)
			raw, _, err := rogue.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Minute,
				Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}})
			require.NoError(t, err)
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"identity token sent as the grant", reason.GrantWrongType, func(t *testing.T, e *env) call {
			// Signed by the broker's key so only the typ check can catch it.
			raw := signWith(t, devKey(t, token.DevGrantIssuer, token.EdDSA), token.TypeIdentity, &token.GrantClaims{Claims: token.Claims{
				Issuer: token.DevGrantIssuer, Subject: "alice", Audience: jwt.ClaimStrings{token.DevAudience},
				IssuedAt: token.At(epoch), ExpiresAt: token.At(epoch.Add(time.Minute)), ID: "j1"},
				Scope: &token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}})
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"grant from another issuer", reason.GrantIssuerMismatch, func(t *testing.T, e *env) call {
			other := token.NewIssuer("someone-else", token.DevKeySet(token.DevGrantIssuer), e.clock)
			raw, _, err := other.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Minute,
				Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}})
			require.NoError(t, err)
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"grant for another service", reason.GrantAudienceMismatch, func(t *testing.T, e *env) call {
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{Audience: "billing.v1.Ledger"})))}
		}},
		{"grant without jti", reason.GrantClaimMissing, func(t *testing.T, e *env) call {
			raw := signWith(t, devKey(t, token.DevGrantIssuer, token.EdDSA), token.TypeGrant, &token.GrantClaims{Claims: token.Claims{
				Issuer: token.DevGrantIssuer, Subject: "alice", Audience: jwt.ClaimStrings{token.DevAudience},
				IssuedAt: token.At(epoch), ExpiresAt: token.At(epoch.Add(time.Minute))},
				Scope: &token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}})
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"grant expired", reason.GrantExpired, func(t *testing.T, e *env) call {
			raw := e.grant(t, token.GrantSpec{TTL: time.Minute})
			id := e.identity(t, "alice")
			e.clock.Advance(2 * time.Minute)
			return call{md: with(bearer(id), grantMD(raw))}
		}},
		{"grant from a clock 5 min ahead", reason.GrantNotYetValid, func(t *testing.T, e *env) call {
			ahead := token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clockwork.NewFakeClockAt(epoch.Add(5*time.Minute)))
			raw, _, err := ahead.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: 10 * time.Minute,
				Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}})
			require.NoError(t, err)
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"grant longer than the maximum", reason.GrantLifetimeExceeded, func(t *testing.T, e *env) call {
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{TTL: 2 * time.Hour})))}
		}},
		{"bob's grant", reason.GrantSubjectMismatch, func(t *testing.T, e *env) call {
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{Subject: "bob"})))}
		}},
		{"write with a read grant", reason.GrantScopeMismatch, func(t *testing.T, e *env) call {
			return call{method: "write", md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{})))}
		}},
		{"resource outside the grant", reason.GrantScopeMismatch, func(t *testing.T, e *env) call {
			return call{path: "public/motd", md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{})))}
		}},
		{"stream resource outside the grant", reason.GrantScopeMismatch, func(t *testing.T, e *env) call {
			raw := e.grant(t, token.GrantSpec{Scope: token.Scope{Methods: []string{demov1.Vault_List_FullMethodName}, Resource: "secrets/*"}})
			return call{method: "list", path: "public/", md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"stream listing everything with a secrets/* grant", reason.GrantScopeMismatch, func(t *testing.T, e *env) call {
			raw := e.grant(t, token.GrantSpec{Scope: token.Scope{Methods: []string{demov1.Vault_List_FullMethodName}, Resource: "secrets/*"}})
			return call{method: "list", path: "(everything)", md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"stream without a grant", reason.GrantMissing, func(t *testing.T, e *env) call {
			return call{method: "list", md: bearer(e.identity(t, "alice"))}
		}},
		{"revoked grant", reason.GrantRevoked, func(t *testing.T, e *env) call {
			raw := e.grant(t, token.GrantSpec{ID: "grant-to-revoke"})
			e.revoked.Revoke("grant-to-revoke", epoch.Add(time.Hour))
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(raw))}
		}},
		{"one-shot grant used twice", reason.GrantReplayed, func(t *testing.T, e *env) call {
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{OneShot: true})))}
		}},
		{"one-shot register full", reason.OneShotRegisterFull, func(t *testing.T, e *env) call {
			require.NoError(t, e.do(t, call{md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{OneShot: true})))}))
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{OneShot: true})))}
		}},
		{"revocation view stale", reason.RevocationViewStale, func(t *testing.T, e *env) call {
			e.staleErr = reason.New(reason.RevocationViewStale, "revocation view is 2m old (bound 30s)")
			return call{md: with(bearer(e.identity(t, "alice")), grantMD(e.grant(t, token.GrantSpec{})))}
		}},
		{"approval slower than the deadline", reason.ApprovalPending, func(t *testing.T, e *env) call {
			return call{ttl: 20 * time.Millisecond, creds: interceptor.NewCredentials(interceptor.ClientConfig{
				Identity: interceptor.StaticIdentity(e.identity(t, "alice")), Insecure: true,
				Grants: interceptor.GrantSourceFunc(func(ctx context.Context, _ string) (interceptor.Credential, error) {
					<-ctx.Done() // an approval that never comes
					return interceptor.Credential{}, ctx.Err()
				})})}
		}},
		{"approval denied", reason.ApprovalDenied, func(t *testing.T, e *env) call {
			return call{creds: interceptor.NewCredentials(interceptor.ClientConfig{
				Identity: interceptor.StaticIdentity(e.identity(t, "alice")), Insecure: true,
				Grants: interceptor.GrantSourceFunc(func(context.Context, string) (interceptor.Credential, error) {
					return interceptor.Credential{}, reason.New(reason.ApprovalDenied, "denied by carol")
				})})}
		}},
		{"broker unreachable", reason.BrokerUnavailable, func(t *testing.T, e *env) call {
			return call{creds: interceptor.NewCredentials(interceptor.ClientConfig{
				Identity: interceptor.StaticIdentity(e.identity(t, "alice")), Insecure: true,
				Grants: interceptor.GrantSourceFunc(func(context.Context, string) (interceptor.Credential, error) {
					return interceptor.Credential{}, errors.New("dial tcp 127.0.0.1:1: connection refused")
				})})}
		}},
	}

	covered := map[reason.Reason]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnvWith(t, tune[c.want])
			cl := c.setup(t, e)
			if repeat[c.want] {
				require.NoError(t, e.do(t, cl), "first use must succeed")
			}
			before := e.svc.Vault.TotalHandlerCalls()
			err := e.do(t, cl)
			require.Error(t, err)
			got := reason.FromError(err)
			assert.Equal(t, c.want.Code(), got.Code, "code (message %q)", got.Message)
			assert.Equal(t, c.want, got.Reason)
			assert.Equal(t, before, e.svc.Vault.TotalHandlerCalls(), "the handler must not run for a denied call")
			for _, v := range cl.md {
				if len(v) > 40 {
					assert.NotContains(t, err.Error(), v, "the status must not echo a credential")
					assert.NotContains(t, reason.FormatMetadata(got.Metadata), v)
				}
			}
			if got.Code == codes.PermissionDenied && c.want != reason.ApprovalDenied {
				assert.Equal(t, "broker.example:7443", got.Metadata["request_access"], "grant denials say where to request access")
			}
		})
		covered[c.want] = true
	}
	// Broker reasons are produced through the broker's own API and tested there.
	for _, info := range reason.Catalog() {
		if info.Origin != reason.OriginBroker {
			assert.True(t, covered[info.Reason], "reason %s has no gRPC-level test", info.Reason)
		}
	}
}

// TestAllowedCalls checks the happy paths: unary, stream, one-shot once, and
// client credentials minting both tokens.
func TestAllowedCalls(t *testing.T) {
	e := newEnv(t)
	id := e.identity(t, "alice")
	read := e.grant(t, token.GrantSpec{})
	require.NoError(t, e.do(t, call{md: with(bearer(id), grantMD(read))}))
	list := e.grant(t, token.GrantSpec{Scope: token.Scope{Methods: []string{demov1.Vault_List_FullMethodName}, Resource: "secrets/*"}})
	require.NoError(t, e.do(t, call{method: "list", path: "secrets/", md: with(bearer(id), grantMD(list))}))

	m := stack.DevMinting("alice", 5*time.Minute, e.clock)
	creds := interceptor.NewCredentials(interceptor.ClientConfig{Identity: m, Grants: m, Insecure: true, Clock: e.clock})
	require.NoError(t, e.do(t, call{method: "write", path: "secrets/new", creds: creds}))
	assert.EqualValues(t, 3, e.svc.Vault.TotalHandlerCalls())
}
