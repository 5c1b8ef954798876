package zoo_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// TestCorrectBuildServesValidCalls checks each member's correct build: a
// token minted from its own convention passes on the unary and the
// streaming method and runs the handler; health answers without credentials.
func TestCorrectBuildServesValidCalls(t *testing.T) {
	for _, k := range zoo.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			f := newFixture(t, k)
			tg := f.start(t, zoo.None)

			got := tg.do(t, f.valid(t))
			assert.Equal(t, codes.OK, got.code, got.msg)
			assert.True(t, got.ran)

			streamCall := call{Call: f.conv.Stream, md: f.valid(t).md}
			got = tg.do(t, streamCall)
			assert.Equal(t, codes.OK, got.code, got.msg)
			assert.True(t, got.ran)
			assert.Equal(t, int64(2), tg.HandlerCalls())

			health, err := healthpb.NewHealthClient(tg.conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: f.conv.Service})
			require.NoError(t, err)
			assert.Equal(t, healthpb.HealthCheckResponse_SERVING, health.GetStatus())
			n, err := zoo.HandlerCalls(t.Context(), tg.conn)
			require.NoError(t, err)
			assert.Equal(t, int64(2), n, "the probe counts the protected handler runs only")
		})
	}
}

// refusal is a call the correct build must refuse with code.
type refusal struct {
	name string
	call func(t *testing.T, f *fixture) call
	code func(f *fixture) codes.Code
}

func unauthenticated(*fixture) codes.Code  { return codes.Unauthenticated }
func permissionDenied(*fixture) codes.Code { return codes.PermissionDenied }
func tokenFault(f *fixture) codes.Code     { return f.tokenFault() }

// grantCall is the unary call with a valid identity and the grant edited by e.
func grantCall(e edit) func(t *testing.T, f *fixture) call {
	return func(t *testing.T, f *fixture) call { return f.withGrant(t, f.grant(t, e)) }
}

// refusals are faults from across the catalog, each through a real call.
var refusals = []refusal{
	{"no credentials", func(t *testing.T, f *fixture) call { return call{Call: f.conv.Unary} }, unauthenticated},
	{"Basic scheme", func(t *testing.T, f *fixture) call {
		c := f.valid(t)
		c.md.Set("authorization", "Basic "+strings.TrimPrefix(c.md.Get("authorization")[0], "Bearer "))
		return c
	}, unauthenticated},
	{"two authorization values", func(t *testing.T, f *fixture) call {
		c := f.valid(t)
		c.md.Append("authorization", c.md.Get("authorization")[0])
		return c
	}, unauthenticated},
	{"not three segments", func(t *testing.T, f *fixture) call {
		g := f.grant(t, nil)
		return f.withGrant(t, g[:strings.LastIndex(g, ".")])
	}, tokenFault},
	{"64 KiB of dots", func(t *testing.T, f *fixture) call { return f.withGrant(t, strings.Repeat(".", 64<<10)) }, tokenFault},
	{"signature stripped", func(t *testing.T, f *fixture) call {
		g := f.grant(t, nil)
		return f.withGrant(t, g[:strings.LastIndex(g, ".")+1])
	}, tokenFault},
	{"alg none", func(t *testing.T, f *fixture) call {
		h, c := f.claims(f.conv.Grant, nil)
		h["alg"] = "none"
		return f.withGrant(t, rawToken(t, h, c, nil))
	}, tokenFault},
	{"exp as a string", grantCall(func(_, c map[string]any) { c["exp"] = json.Number("1").String() }), tokenFault},
	{"EXP instead of exp", grantCall(func(_, c map[string]any) { c["EXP"] = c["exp"]; delete(c, "exp") }), tokenFault},
	{"expired beyond the leeway", func(t *testing.T, f *fixture) call {
		return f.withGrant(t, f.grant(t, func(_, c map[string]any) {
			exp := t0.Add(-f.conv.Leeway - time.Second)
			c["exp"], c["iat"] = exp.Unix(), exp.Add(-time.Minute).Unix()
			if _, ok := c["nbf"]; ok {
				c["nbf"] = c["iat"]
			}
		}))
	}, tokenFault},
	{"exp missing", grantCall(func(_, c map[string]any) { delete(c, "exp") }), tokenFault},
	{"absurd nbf", grantCall(func(_, c map[string]any) { c["nbf"] = 1e19 }), tokenFault},
	{"absurd exp", grantCall(func(_, c map[string]any) { c["exp"] = 1e19 }), tokenFault},
	{"absurder exp", grantCall(func(_, c map[string]any) { c["exp"] = 1e308 }), tokenFault},
	{"negative nbf", grantCall(func(_, c map[string]any) { c["nbf"] = -1 }), tokenFault},
	{"wrong issuer", grantCall(func(_, c map[string]any) { c["iss"] = "https://evil.example" }), tokenFault},
	{"another audience", grantCall(func(_, c map[string]any) { c["aud"] = []string{"another-service"} }), tokenFault},
	{"lifetime too long", func(t *testing.T, f *fixture) call {
		return f.withGrant(t, f.grant(t, func(_, c map[string]any) { c["exp"] = t0.Add(f.conv.MaxLifetime + time.Minute).Unix() }))
	}, tokenFault},
	{"method outside the scope", func(t *testing.T, f *fixture) call {
		c := f.valid(t)
		c.Call = f.conv.Other
		return c
	}, permissionDenied},
	{"stream without any credential", func(t *testing.T, f *fixture) call { return call{Call: f.conv.Stream} }, unauthenticated},
}

// twoTokenRefusals are faults of the two-token profile only.
var twoTokenRefusals = []refusal{
	{"no grant", func(t *testing.T, f *fixture) call {
		return call{Call: f.conv.Unary, md: f.md(f.identity(t, nil), "")}
	}, permissionDenied},
	{"identity expired", func(t *testing.T, f *fixture) call {
		id := f.identity(t, func(_, c map[string]any) {
			c["exp"], c["iat"] = t0.Add(-time.Hour).Unix(), t0.Add(-2*time.Hour).Unix()
		})
		return call{Call: f.conv.Unary, md: f.md(id, f.grant(t, nil))}
	}, unauthenticated},
	{"identity badly signed", func(t *testing.T, f *fixture) call {
		id := f.identity(t, nil)
		return call{Call: f.conv.Unary, md: f.md(id[:len(id)-4]+"AAAA", f.grant(t, nil))}
	}, unauthenticated},
	{"grant of another subject", grantCall(func(_, c map[string]any) { c["sub"] = "mallory" }), permissionDenied},
	{"stream without a grant", func(t *testing.T, f *fixture) call {
		return call{Call: f.conv.Stream, md: f.md(f.identity(t, nil), "")}
	}, permissionDenied},
}

// TestCorrectBuildRefuses checks each member's correct build refuses
// faults from across the catalog with the catalog's code, without running
// the handler or quoting a token.
func TestCorrectBuildRefuses(t *testing.T) {
	for _, k := range zoo.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			f := newFixture(t, k)
			tg := f.start(t, zoo.None)
			cases := refusals
			if f.twoToken() {
				cases = append(cases[:len(cases):len(cases)], twoTokenRefusals...)
			}
			for _, rc := range cases {
				t.Run(rc.name, func(t *testing.T) {
					c := rc.call(t, f)
					got := tg.do(t, c)
					assert.Equal(t, rc.code(f), got.code, got.msg)
					assert.False(t, got.ran, "the handler ran")
					assertNoEcho(t, c, got.msg)
				})
			}
		})
	}
}

// assertNoEcho fails when msg quotes a token of c.
func assertNoEcho(t *testing.T, c call, msg string) {
	t.Helper()
	for _, values := range c.md {
		for _, v := range values {
			tok := v[strings.LastIndex(v, " ")+1:]
			if len(tok) >= 16 && strings.Trim(tok, ".") != "" {
				assert.NotContains(t, msg, tok, "the message quotes a credential")
			}
		}
	}
}

// TestResourceScope checks scp-array's res: a path outside it, or climbing
// out of it, is PERMISSION_DENIED; the stream's prefix is checked too.
func TestResourceScope(t *testing.T) {
	f := newFixture(t, zoo.ScpArray)
	tg := f.start(t, zoo.None)
	valid := f.valid(t)
	tests := []struct {
		name string
		call zoo.Call
		want codes.Code
	}{
		{"inside", f.conv.Unary, codes.OK},
		{"outside", *f.conv.OutOfScope, codes.PermissionDenied},
		{"climbing out", zoo.Call{Method: f.conv.Unary.Method, JSON: `{"path":"reports/../payroll/2026.csv"}`}, codes.PermissionDenied},
		{"look-alike directory", zoo.Call{Method: f.conv.Unary.Method, JSON: `{"path":"reports-old/q1.csv"}`}, codes.PermissionDenied},
		{"no path", zoo.Call{Method: f.conv.Unary.Method, JSON: `{}`}, codes.PermissionDenied},
		{"stream inside", f.conv.Stream, codes.OK},
		{"stream outside", zoo.Call{Method: f.conv.Stream.Method, JSON: `{"prefix":"payroll/"}`}, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tg.do(t, call{Call: tt.call, md: valid.md})
			assert.Equal(t, tt.want, got.code, got.msg)
			assert.Equal(t, tt.want == codes.OK, got.ran)
		})
	}
}

// TestOneShotGrant checks bearer-grant's register: a one-shot grant passes
// once and is refused after, until it has expired from the register;
// grants without once pass every time.
func TestOneShotGrant(t *testing.T) {
	f := newFixture(t, zoo.BearerGrant)
	tg := f.start(t, zoo.None)
	once := f.withGrant(t, f.grant(t, func(_, c map[string]any) { c["once"] = true }))
	assert.Equal(t, codes.OK, tg.do(t, once).code)
	got := tg.do(t, once)
	assert.Equal(t, codes.PermissionDenied, got.code, got.msg)
	assert.False(t, got.ran)

	reusable := f.valid(t)
	for range 3 {
		assert.Equal(t, codes.OK, tg.do(t, reusable).code)
	}
	noJTI := f.withGrant(t, f.grant(t, func(_, c map[string]any) { c["once"] = true; delete(c, "jti") }))
	assert.Equal(t, codes.PermissionDenied, tg.do(t, noJTI).code, "a one-shot grant needs a jti")
	notBool := f.withGrant(t, f.grant(t, func(_, c map[string]any) { c["once"] = "true" }))
	assert.Equal(t, codes.PermissionDenied, tg.do(t, notBool).code, "once must be a boolean")
}

// TestGrantSchemeRequired checks bearer-grant wants "Bearer " before its
// grant, and methods-list wants none.
func TestGrantSchemeRequired(t *testing.T) {
	t.Run(string(zoo.BearerGrant), func(t *testing.T) {
		f := newFixture(t, zoo.BearerGrant)
		tg := f.start(t, zoo.None)
		c := f.valid(t)
		c.md.Set(f.conv.Grant.Header, f.grant(t, nil))
		got := tg.do(t, c)
		assert.Equal(t, codes.PermissionDenied, got.code, got.msg)
	})
	t.Run(string(zoo.MethodsList), func(t *testing.T) {
		f := newFixture(t, zoo.MethodsList)
		tg := f.start(t, zoo.None)
		c := f.valid(t)
		c.md.Set(f.conv.Grant.Header, "Bearer "+f.grant(t, nil))
		got := tg.do(t, c)
		assert.Equal(t, codes.PermissionDenied, got.code, got.msg)
	})
}

// TestStartRefusesBadSetup checks Start names what is missing.
func TestStartRefusesBadSetup(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		kind zoo.Kind
		bug  zoo.Bug
		opts zoo.Options
		want string
	}{
		{"unknown kind", "opaque-token", zoo.None, zoo.Options{KeysDir: dir}, "unknown zoo kind"},
		{"bug of another kind", zoo.MethodsList, zoo.OnceIgnored, zoo.Options{KeysDir: dir}, "unknown bug"},
		{"no keys directory", zoo.MethodsList, zoo.None, zoo.Options{}, "keys directory"},
		{"no keys in it", zoo.ScpArray, zoo.None, zoo.Options{KeysDir: dir}, "identity.pub.pem"},
		{"no JWKS URL", zoo.OAuthScope, zoo.None, zoo.Options{KeysDir: dir}, "JWKS URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := zoo.Start(tt.kind, tt.bug, tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestDeadlineExceeded checks a call that runs out of time is
// DEADLINE_EXCEEDED (DL-001), not a credential code.
func TestDeadlineExceeded(t *testing.T) {
	f := newFixture(t, zoo.MethodsList)
	tg := f.start(t, zoo.None)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := tg.conn.Invoke(ctx, f.conv.Unary.Method, nil, nil)
	require.Error(t, err)
	assert.Equal(t, codes.DeadlineExceeded, statusCode(err))
}
