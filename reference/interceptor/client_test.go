package interceptor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
)

// requestCtx is the context grpc-go gives per-RPC credentials for method.
func requestCtx(ctx context.Context, method string) context.Context {
	return credentials.NewContextWithRequestInfo(ctx, credentials.RequestInfo{Method: method})
}

func TestCredentialsRefreshBeforeExpiry(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	fetches := 0
	src := GrantSourceFunc(func(context.Context, string) (Credential, error) {
		fetches++
		return Credential{Token: "grant-" + string(rune('0'+fetches)), Expires: clock.Now().Add(time.Minute)}, nil
	})
	c := NewCredentials(ClientConfig{Grants: src, RefreshBefore: 10 * time.Second, Clock: clock, Insecure: true})
	ctx := requestCtx(context.Background(), "/demo.v1.Vault/Read")

	md, err := c.GetRequestMetadata(ctx)
	require.NoError(t, err)
	assert.Equal(t, "grant-1", md[GrantHeader])

	clock.Advance(49 * time.Second) // 11 s before expiry: still cached
	md, _ = c.GetRequestMetadata(ctx)
	assert.Equal(t, "grant-1", md[GrantHeader])

	clock.Advance(2 * time.Second) // 9 s before expiry: inside the refresh margin
	md, _ = c.GetRequestMetadata(ctx)
	assert.Equal(t, "grant-2", md[GrantHeader])
	assert.Equal(t, 2, fetches)

	// Grants are cached per method.
	md, _ = c.GetRequestMetadata(requestCtx(context.Background(), "/demo.v1.Vault/Write"))
	assert.Equal(t, "grant-3", md[GrantHeader])

	c.Forget()
	md, _ = c.GetRequestMetadata(ctx)
	assert.Equal(t, "grant-4", md[GrantHeader])
}

func TestCredentialsNeverCacheOneShotGrants(t *testing.T) {
	n := 0
	src := GrantSourceFunc(func(context.Context, string) (Credential, error) {
		n++
		return Credential{Token: "once", Once: true}, nil
	})
	c := NewCredentials(ClientConfig{Grants: src, Insecure: true})
	ctx := requestCtx(context.Background(), "/demo.v1.Vault/Read")
	for range 3 {
		_, err := c.GetRequestMetadata(ctx)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, n)
}

func TestCredentialsSendNothingToOpenMethods(t *testing.T) {
	c := NewCredentials(ClientConfig{Identity: StaticIdentity("id"), Grants: StaticGrant("g")})
	md, err := c.GetRequestMetadata(requestCtx(context.Background(), "/grpc.health.v1.Health/Check"))
	require.NoError(t, err)
	assert.Empty(t, md)
	assert.True(t, c.RequireTransportSecurity(), "credentials need TLS unless Insecure is set")

	md, err = c.GetRequestMetadata(requestCtx(context.Background(), "/demo.v1.Vault/Read"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{IdentityHeader: "Bearer id", GrantHeader: "g"}, md)
}

func TestSourceErrorsBecomeStatuses(t *testing.T) {
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancelExpired()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name   string
		ctx    context.Context
		err    error
		code   codes.Code
		reason reason.Reason
	}{
		{"plain error", context.Background(), errors.New("connection refused"), codes.Unavailable, reason.BrokerUnavailable},
		{"deadline", expired, context.DeadlineExceeded, codes.DeadlineExceeded, reason.ApprovalPending},
		{"cancelled", cancelled, context.Canceled, codes.Canceled, ""},
		{"denied", context.Background(), reason.New(reason.ApprovalDenied, "no"), codes.PermissionDenied, reason.ApprovalDenied},
		{"status kept", context.Background(), status.Error(codes.ResourceExhausted, "quota"), codes.ResourceExhausted, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds := NewCredentials(ClientConfig{Insecure: true,
				Grants: GrantSourceFunc(func(context.Context, string) (Credential, error) { return Credential{}, c.err })})
			_, err := creds.GetRequestMetadata(requestCtx(c.ctx, "/demo.v1.Vault/Read"))
			require.Error(t, err)
			st, ok := status.FromError(err)
			require.True(t, ok, "grpc-go turns a non-status error into UNAUTHENTICATED, so it must be a status")
			assert.Equal(t, c.code, st.Code())
			assert.Equal(t, c.reason, reason.Of(err))
		})
	}
}
