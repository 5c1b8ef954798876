package interceptor

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

const (
	testRead = "/demo.v1.Vault/Read"
	testList = "/demo.v1.Vault/List"
)

// pathReq stands in for a request message that addresses a resource.
type pathReq struct{ path string }

func pathOf(req any) (string, bool) {
	r, ok := req.(*pathReq)
	if !ok || r == nil {
		return "", false
	}
	return r.path, true
}

// rig is a Server with development-key verifiers on a fake clock and the
// issuers that sign for them.
type rig struct {
	srv    *Server
	idp    *token.Issuer
	broker *token.Issuer
}

func newRig(t *testing.T, tune func(*ServerConfig), opts ...token.GrantOption) *rig {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	idv, err := token.NewIdentityVerifier(token.DevKeySet(token.DevIdentityIssuer).Public(),
		token.Config{Issuer: token.DevIdentityIssuer, Audience: token.DevAudience, Clock: clock})
	require.NoError(t, err)
	gv, err := token.NewGrantVerifier(token.DevKeySet(token.DevGrantIssuer).Public(),
		token.Config{Issuer: token.DevGrantIssuer, Audience: token.DevAudience, Clock: clock}, opts...)
	require.NoError(t, err)
	cfg := ServerConfig{Identity: idv, Grants: gv, Resource: pathOf}
	if tune != nil {
		tune(&cfg)
	}
	return &rig{
		srv:    NewServer(cfg),
		idp:    token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), clock),
		broker: token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clock),
	}
}

func (r *rig) identity(t *testing.T) string {
	t.Helper()
	raw, err := r.idp.Identity(token.IdentitySpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Hour})
	require.NoError(t, err)
	return raw
}

// oneShot is a one-shot grant for alice on both methods, limited to secrets/*.
func (r *rig) oneShot(t *testing.T) string {
	t.Helper()
	raw, _, err := r.broker.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Minute, OneShot: true,
		Scope: token.Scope{Methods: []string{testRead, testList}, Resource: "secrets/*"}})
	require.NoError(t, err)
	return raw
}

// md is the incoming metadata of a two-token call (or single-token, with an empty identity).
func (r *rig) md(t *testing.T, grant string) metadata.MD {
	if r.srv.cfg.SingleToken {
		return metadata.Pairs(IdentityHeader, "Bearer "+grant)
	}
	return metadata.Pairs(IdentityHeader, "Bearer "+r.identity(t), GrantHeader, grant)
}

// unary runs the unary interceptor for a Read of path; it reports whether the handler ran.
func (r *rig) unary(md metadata.MD, path string) (bool, error) {
	ran := false
	_, err := r.srv.Unary()(metadata.NewIncomingContext(context.Background(), md), &pathReq{path},
		&grpc.UnaryServerInfo{FullMethod: testRead}, func(context.Context, any) (any, error) {
			ran = true
			return nil, nil
		})
	return ran, err
}

// fakeStream is a server stream whose client sends one request for path.
type fakeStream struct {
	grpc.ServerStream // nil: calling anything not overridden panics
	ctx               context.Context
	path              string
	received, sent    int
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func (f *fakeStream) RecvMsg(m any) error {
	if f.received > 0 {
		return io.EOF
	}
	f.received++
	m.(*pathReq).path = f.path
	return nil
}

func (f *fakeStream) SendMsg(any) error            { f.sent++; return nil }
func (f *fakeStream) SendHeader(metadata.MD) error { return nil }
func (f *fakeStream) SetHeader(metadata.MD) error  { return nil }
func (f *fakeStream) SetTrailer(metadata.MD)       {}

// recvThenSend is a server-streaming handler: read the request, send one answer.
func recvThenSend(ss grpc.ServerStream) error {
	var req pathReq
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	return ss.SendMsg("answer")
}

// stream runs the stream interceptor for a List of path with handler; it
// reports how many answers reached the client.
func (r *rig) stream(md metadata.MD, path string, handler func(grpc.ServerStream) error) (int, error) {
	fs := &fakeStream{ctx: metadata.NewIncomingContext(context.Background(), md), path: path}
	err := r.srv.Stream()(nil, fs, &grpc.StreamServerInfo{FullMethod: testList, IsServerStream: true},
		func(_ any, ss grpc.ServerStream) error { return handler(ss) })
	return fs.sent, err
}

func requireReason(t *testing.T, err error, want reason.Reason) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, want, reason.Of(err), "%v", err)
	assert.Equal(t, want.Code(), status.Code(err))
}

// Finding 7: a one-shot grant is used up only by a call authorised in full.
// A stream refused for the resource of its first message leaves it unused.
func TestOneShotUsedOnlyWhenAuthorised(t *testing.T) {
	for _, profile := range []struct {
		name   string
		single bool
	}{{"two-token", false}, {"single-token", true}} {
		t.Run(profile.name, func(t *testing.T) {
			r := newRig(t, func(c *ServerConfig) { c.SingleToken = profile.single })
			grant := r.oneShot(t)

			sent, err := r.stream(r.md(t, grant), "payroll/", recvThenSend)
			requireReason(t, err, reason.GrantScopeMismatch)
			assert.Zero(t, sent)
			ran, err := r.unary(r.md(t, grant), "payroll/q3")
			requireReason(t, err, reason.GrantScopeMismatch)
			assert.False(t, ran)

			sent, err = r.stream(r.md(t, grant), "secrets/", recvThenSend)
			require.NoError(t, err, "the refused calls left the grant unused")
			assert.Equal(t, 1, sent)

			sent, err = r.stream(r.md(t, grant), "secrets/", func(grpc.ServerStream) error {
				t.Error("the handler must not start on a used grant")
				return nil
			})
			requireReason(t, err, reason.GrantReplayed)
			assert.Zero(t, sent)
			ran, err = r.unary(r.md(t, grant), "secrets/db")
			requireReason(t, err, reason.GrantReplayed)
			assert.False(t, ran)
		})
	}
}

func TestOneShotStreamUse(t *testing.T) {
	t.Run("a handler that sends before it receives uses the grant then", func(t *testing.T) {
		r := newRig(t, nil)
		grant := r.oneShot(t)
		sent, err := r.stream(r.md(t, grant), "secrets/", func(ss grpc.ServerStream) error { return ss.SendMsg("early") })
		require.NoError(t, err)
		assert.Equal(t, 1, sent)
		_, err = r.unary(r.md(t, grant), "secrets/db")
		requireReason(t, err, reason.GrantReplayed)
	})
	t.Run("a refused stream refuses every later send", func(t *testing.T) {
		r := newRig(t, nil)
		grant := r.oneShot(t)
		sent, err := r.stream(r.md(t, grant), "payroll/", func(ss grpc.ServerStream) error {
			_ = ss.RecvMsg(&pathReq{}) // a careless handler ignores the refusal
			return ss.SendMsg("leak")
		})
		requireReason(t, err, reason.GrantScopeMismatch)
		assert.Zero(t, sent)
		ran, err := r.unary(r.md(t, grant), "secrets/db")
		require.NoError(t, err)
		assert.True(t, ran)
	})
	t.Run("two streams racing on one grant: one runs", func(t *testing.T) {
		r := newRig(t, nil)
		grant := r.oneShot(t)
		md := r.md(t, grant)
		// Both pass the start check; the first to receive uses the grant.
		fa := &fakeStream{ctx: metadata.NewIncomingContext(context.Background(), md), path: "secrets/"}
		fb := &fakeStream{ctx: metadata.NewIncomingContext(context.Background(), md), path: "secrets/"}
		info := &grpc.StreamServerInfo{FullMethod: testList, IsServerStream: true}
		err := r.srv.Stream()(nil, fa, info, func(_ any, a grpc.ServerStream) error {
			return r.srv.Stream()(nil, fb, info, func(_ any, b grpc.ServerStream) error {
				require.NoError(t, recvThenSend(a))
				return recvThenSend(b)
			})
		})
		requireReason(t, err, reason.GrantReplayed)
		assert.Equal(t, 1, fa.sent+fb.sent)
	})
	t.Run("without a resource extractor the grant is used before the handler", func(t *testing.T) {
		r := newRig(t, func(c *ServerConfig) { c.Resource = nil })
		grant := r.oneShot(t)
		_, err := r.stream(r.md(t, grant), "secrets/", func(grpc.ServerStream) error { return nil })
		require.NoError(t, err)
		_, err = r.stream(r.md(t, grant), "secrets/", func(grpc.ServerStream) error {
			t.Error("the handler must not start on a used grant")
			return nil
		})
		requireReason(t, err, reason.GrantReplayed)
	})
	t.Run("a full register is RESOURCE_EXHAUSTED and not a denial", func(t *testing.T) {
		r := newRig(t, func(c *ServerConfig) { c.AccessHint = "broker:7443" }, token.WithReplayGuard(token.NewReplayGuard(1)))
		ran, err := r.unary(r.md(t, r.oneShot(t)), "secrets/db")
		require.NoError(t, err)
		require.True(t, ran)
		sent, err := r.stream(r.md(t, r.oneShot(t)), "secrets/", recvThenSend)
		requireReason(t, err, reason.OneShotRegisterFull)
		assert.Zero(t, sent)
		assert.Empty(t, reason.FromError(err).Metadata["request_access"], "asking for access again would not help")
	})
}

// Finding 10: a header that is there but holds no token is
// IDENTITY_MALFORMED; only an absent header is IDENTITY_MISSING.
func TestBearerEmptyIsMalformed(t *testing.T) {
	tests := []struct {
		name string
		md   metadata.MD
		want reason.Reason
	}{
		{"no header", metadata.MD{}, reason.IdentityMissing},
		{"Bearer and a space", metadata.Pairs(IdentityHeader, "Bearer "), reason.IdentityMalformed},
		{"Bearer and spaces", metadata.Pairs(IdentityHeader, "bearer    "), reason.IdentityMalformed},
		{"Bearer alone", metadata.Pairs(IdentityHeader, "Bearer"), reason.IdentityMalformed},
		{"Bearer and a tab", metadata.Pairs(IdentityHeader, "Bearer \t"), reason.IdentityMalformed},
		{"spaces only", metadata.Pairs(IdentityHeader, "   "), reason.IdentityMalformed},
		{"empty value", metadata.Pairs(IdentityHeader, ""), reason.IdentityMalformed},
		{"another scheme", metadata.Pairs(IdentityHeader, "Basic YWxpY2U6cHc="), reason.IdentityMalformed},
		{"two values", metadata.Pairs(IdentityHeader, "Bearer a.b.c", IdentityHeader, "Bearer d.e.f"), reason.IdentityMalformed},
	}
	for _, profile := range []struct {
		name   string
		single bool
	}{{"two-token", false}, {"single-token", true}} {
		for _, tc := range tests {
			t.Run(profile.name+"/"+tc.name, func(t *testing.T) {
				r := newRig(t, func(c *ServerConfig) { c.SingleToken = profile.single })
				md := tc.md.Copy()
				md.Set(GrantHeader, r.oneShot(t))
				ran, err := r.unary(md, "secrets/db")
				requireReason(t, err, tc.want)
				assert.False(t, ran)
				_, err = r.stream(md, "secrets/", recvThenSend)
				requireReason(t, err, tc.want)
			})
		}
	}
	t.Run("an empty Bearer does not fall back to the mTLS peer", func(t *testing.T) {
		r := newRig(t, func(c *ServerConfig) { c.PeerIdentity = true })
		_, err := r.unary(metadata.Pairs(IdentityHeader, "Bearer "), "secrets/db")
		requireReason(t, err, reason.IdentityMalformed)
	})
}
