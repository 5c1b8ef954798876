package pyledger

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/token"
)

// startLedger starts the service for t and stops it when t ends: skipped
// without an interpreter that has grpc and jwt, unless CI is set (CI
// installs them, so there their absence is a failure).
func startLedger(t *testing.T, o Options) *Process {
	t.Helper()
	if _, err := Interpreter(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Python to run ledger.py (CI unset): %v", err)
		}
		t.Fatalf("CI installs python3-grpcio and python3-jwt: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p, err := Start(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Stop()) })
	return p
}

// mint signs claims with the issuer's key, over the valid claims of a
// GetBalance token; a nil value removes a claim.
func mint(t *testing.T, p *Process, alg jwt.SigningMethod, key any, change jwt.MapClaims) string {
	t.Helper()
	now := time.Now().Unix()
	c := jwt.MapClaims{
		"iss": Issuer, "sub": Subject, "aud": Audience, "iat": now, "nbf": now, "exp": now + 300,
		"jti": "j-" + t.Name(), PermsClaim: []string{PermBalance, PermEntries},
	}
	for k, v := range change {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	if key == nil {
		key = p.Key.Private
	}
	s, err := jwt.NewWithClaims(alg, c).SignedString(key)
	require.NoError(t, err)
	return s
}

// dial connects to the service.
func dial(t *testing.T, p *Process) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(p.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// withTokens puts each token in its own x-ledger-token value.
func withTokens(ctx context.Context, tokens ...string) context.Context {
	for _, tok := range tokens {
		ctx = metadata.AppendToOutgoingContext(ctx, TokenHeader, tok)
	}
	return ctx
}

// TestLedgerGuardsItsMethods: a valid token in x-ledger-token passes, Ping
// needs none, and each fault is refused with the code and message the
// service documents (PyJWT's own message for a token it rejects).
func TestLedgerGuardsItsMethods(t *testing.T) {
	p := startLedger(t, Options{})
	conn := dial(t, p)
	now := time.Now().Unix()
	lifetime := int64(p.MaxLifetime / time.Second)
	hsKey := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name    string
		method  string
		tokens  func() []string
		code    codes.Code
		message string
	}{
		{"valid", MethodGetBalance, func() []string { return []string{mint(t, p, jwt.SigningMethodES256, nil, nil)} }, codes.OK, ""},
		{"ping needs nothing", MethodPing, func() []string { return nil }, codes.OK, ""},
		{"no token", MethodGetBalance, func() []string { return nil }, codes.Unauthenticated, "missing credentials"},
		{"two tokens", MethodGetBalance, func() []string {
			tok := mint(t, p, jwt.SigningMethodES256, nil, nil)
			return []string{tok, tok}
		}, codes.Unauthenticated, "more than one x-ledger-token"},
		{"expired beyond leeway", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"iat": now - 600, "nbf": now - 600, "exp": now - 60})}
		}, codes.Unauthenticated, "Signature has expired"},
		{"expired within leeway", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"iat": now - 600, "nbf": now - 600, "exp": now - 5})}
		}, codes.OK, ""},
		{"not yet valid", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"nbf": now + 120, "exp": now + 400})}
		}, codes.Unauthenticated, "The token is not yet valid (nbf)"},
		{"wrong audience", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"aud": "payments.v1.Other"})}
		}, codes.Unauthenticated, "Invalid audience"},
		{"wrong issuer", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"iss": "https://evil.test"})}
		}, codes.Unauthenticated, "Invalid issuer"},
		{"no sub", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"sub": nil})}
		}, codes.Unauthenticated, `Token is missing the "sub" claim`},
		{"algorithm not pinned", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodHS256, hsKey, nil)}
		}, codes.Unauthenticated, "The specified alg value is not allowed"},
		{"lifetime over the maximum", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"exp": now + lifetime + 1})}
		}, codes.Unauthenticated, "exceeds the 900s maximum"},
		{"lifetime at the maximum", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"exp": now + lifetime})}
		}, codes.OK, ""},
		{"another permission", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{PermsClaim: []string{PermEntries}})}
		}, codes.PermissionDenied, "missing permission " + PermBalance},
		{"a look-alike permission", MethodGetBalance, func() []string {
			return []string{mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{PermsClaim: []string{PermBalance + "x"}})}
		}, codes.PermissionDenied, "missing permission " + PermBalance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(withTokens(t.Context(), tc.tokens()...), 10*time.Second)
			defer cancel()
			out := &wrapperspb.Int64Value{}
			err := conn.Invoke(ctx, tc.method, &emptypb.Empty{}, out)
			st := status.Convert(err)
			require.Equal(t, tc.code, st.Code(), "%s", st.Message())
			assert.Contains(t, st.Message(), tc.message)
			if tc.code == codes.OK && tc.method == MethodGetBalance {
				assert.EqualValues(t, Balance, out.GetValue())
			}
		})
	}
}

// entries calls StreamEntries with tokens and returns what it sent and how it ended.
func entries(t *testing.T, conn *grpc.ClientConn, tokens ...string) ([]int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(withTokens(t.Context(), tokens...), 10*time.Second)
	defer cancel()
	desc := &grpc.StreamDesc{StreamName: "StreamEntries", ServerStreams: true}
	s, err := conn.NewStream(ctx, desc, MethodStreamEntries)
	require.NoError(t, err)
	require.NoError(t, s.SendMsg(&emptypb.Empty{}))
	require.NoError(t, s.CloseSend())
	var got []int64
	for {
		m := &wrapperspb.Int64Value{}
		if err := s.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
		got = append(got, m.GetValue())
	}
}

// TestLedgerStreamIsGuarded: the stream sends its entries to a token with
// the entries permission, and nothing to a call without one.
func TestLedgerStreamIsGuarded(t *testing.T) {
	p := startLedger(t, Options{})
	conn := dial(t, p)
	got, err := entries(t, conn, mint(t, p, jwt.SigningMethodES256, nil, nil))
	require.NoError(t, err)
	assert.Equal(t, Entries, got)

	got, err = entries(t, conn)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Empty(t, got)

	got, err = entries(t, conn, mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{PermsClaim: []string{PermBalance}}))
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), PermEntries)
	assert.Empty(t, got)
}

// TestLedgerRevokes: a token passes until its jti is revoked over HTTP,
// then it is refused with PERMISSION_DENIED; a bad jti is refused by the
// endpoint.
func TestLedgerRevokes(t *testing.T) {
	p := startLedger(t, Options{})
	conn := dial(t, p)
	tok := mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"jti": "to-revoke"})
	call := func() error {
		ctx, cancel := context.WithTimeout(withTokens(t.Context(), tok), 10*time.Second)
		defer cancel()
		return conn.Invoke(ctx, MethodGetBalance, &emptypb.Empty{}, &emptypb.Empty{})
	}
	require.NoError(t, call())
	post := func(path string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.RevokeURL+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusBadRequest, post("/tokens/a%20b/revoke"))
	assert.Equal(t, http.StatusNotFound, post("/revoke"))
	require.NoError(t, call(), "nothing was revoked yet")
	assert.Equal(t, http.StatusNoContent, post("/tokens/to-revoke/revoke"))
	err := call()
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "revoked")
}

// TestTargetConfigLoads: the written config is valid for jitbench and
// describes the running service: its address, profile, header, times,
// algorithm, stream, revoke hook and the permission each method needs.
func TestTargetConfigLoads(t *testing.T) {
	p := startLedger(t, Options{Leeway: 7 * time.Second, MaxLifetime: 10 * time.Minute})
	cfg, err := p.TargetConfig()
	require.NoError(t, err)
	assert.Equal(t, p.Addr, cfg.Address)
	assert.Equal(t, conformance.SingleToken, cfg.Profile)
	assert.Equal(t, TokenHeader, cfg.IdentityHeader)
	assert.Equal(t, 7*time.Second, cfg.Leeway)
	assert.Equal(t, 10*time.Minute, cfg.MaxGrantLifetime)
	assert.Equal(t, []string{token.ES256}, cfg.Algorithms)
	assert.Equal(t, MethodGetBalance, cfg.Method.Method)
	require.NotNil(t, cfg.Stream)
	assert.Equal(t, MethodStreamEntries, cfg.Stream.Method)
	require.NotNil(t, cfg.Control)
	assert.Equal(t, MethodPing, cfg.Control.Method)
	assert.Equal(t, Audience, cfg.Audience)
	assert.Equal(t, Subject, cfg.Subject)
	assert.Equal(t, map[string]string{MethodGetBalance: PermBalance, MethodStreamEntries: PermEntries}, cfg.GrantToken.Permissions)
	require.NotNil(t, cfg.Revoker, "the revocation endpoint is the revoke hook")

	// The hook reaches the service: a token it revoked is refused.
	tok := mint(t, p, jwt.SigningMethodES256, nil, jwt.MapClaims{"jti": "via-hook"})
	ctx, cancel := context.WithTimeout(withTokens(t.Context(), tok), 10*time.Second)
	defer cancel()
	conn := dial(t, p)
	require.NoError(t, conn.Invoke(ctx, MethodGetBalance, &emptypb.Empty{}, &emptypb.Empty{}))
	require.NoError(t, cfg.Revoker.Revoke(ctx, "via-hook"))
	err = conn.Invoke(ctx, MethodGetBalance, &emptypb.Empty{}, &emptypb.Empty{})
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
}

// TestStopsWhenStdinCloses: a parent that goes away closes the service's
// stdin, and that alone ends it, cleanly.
func TestStopsWhenStdinCloses(t *testing.T) {
	p := startLedger(t, Options{})
	require.NoError(t, p.stdin.Close())
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the service still runs 30s after its stdin closed")
	}
	assert.NoError(t, p.err, "a clean exit: %s", p.stderrText())
}

// TestOptionsRefused: times ledger.py cannot take are refused, naming the option.
func TestOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"fractional leeway", Options{Python: "python3", Leeway: 1500 * time.Millisecond}, "Options.Leeway"},
		{"negative lifetime", Options{Python: "python3", MaxLifetime: -time.Minute}, "Options.MaxLifetime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(t.Context(), tc.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestStartFailsWithStderr: a service that exits before serving is an
// error that quotes its stderr, not a hang, and leaves no directory behind.
func TestStartFailsWithStderr(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "python3")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho 'ledger: bad key file' >&2\nexit 3\n"), 0o700))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p, err := Start(ctx, Options{Python: fake})
	require.Error(t, err)
	assert.Nil(t, p)
	assert.Contains(t, err.Error(), "did not start")
	assert.Contains(t, err.Error(), "ledger: bad key file")
}
