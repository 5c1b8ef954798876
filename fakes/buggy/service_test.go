package buggy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

func TestBugNames(t *testing.T) {
	assert.Equal(t, []string{"alg-none", "hs256-public-key", "no-exp-check", "hour-leeway", "unknown-on-parse-error",
		"pd-missing-identity", "no-stream-interceptor", "token-echo", "kid-file-path", "no-aud-check", "scope-ignored"}, Bugs())
	for _, bug := range Bugs() {
		svc, err := New(bug, Config{})
		require.NoError(t, err, bug)
		assert.Equal(t, bug, svc.Bug)
		svc.Stop()
	}
	for _, bad := range []string{"", "ALG-NONE", "none"} {
		_, err := New(bad, Config{})
		require.ErrorIs(t, err, ErrUnknownBug, "%q", bad)
		assert.Contains(t, err.Error(), "alg-none", "the error lists the known bugs")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"unknown algorithm", Config{Algorithms: []string{"XS999"}}, token.ErrUnknownAlgorithm},
		{"negative leeway", Config{Leeway: -time.Second}, nil},
		{"negative lifetime", Config{MaxGrantLifetime: -time.Second}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(AlgNone, tt.cfg)
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}

// TestHappyPath checks that every service, buggy or not, serves a caller
// with a valid identity and grant: Read, Write and List pass and each runs
// its handler.
func TestHappyPath(t *testing.T) {
	f := newFixture(t)
	for _, bug := range append([]string{""}, Bugs()...) {
		t.Run("bug="+bug, func(t *testing.T) {
			svc, tg := startService(t, bug, f)
			ctx := metadata.AppendToOutgoingContext(t.Context(), identityHeader, "Bearer "+f.identity, grantHeader, f.listGrant)
			client := demov1.NewVaultClient(tg.conn)

			read, err := client.Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
			require.NoError(t, err)
			assert.Equal(t, "correct-horse-battery-staple", string(read.GetValue()))
			_, err = client.Write(ctx, &demov1.WriteRequest{Path: "secrets/new", Value: []byte("v")})
			require.NoError(t, err)
			stream, err := client.List(ctx, &demov1.ListRequest{Prefix: "secrets/"})
			require.NoError(t, err)
			var paths []string
			for {
				m, err := stream.Recv()
				if err != nil {
					break
				}
				paths = append(paths, m.GetPath())
			}
			assert.Equal(t, []string{"secrets/api/token", "secrets/db/password", "secrets/new", "secrets/tls/server.key"}, paths)
			assert.Equal(t, int64(3), svc.HandlerCalls())
		})
	}
}

func TestHealthIsOpen(t *testing.T) {
	f := newFixture(t)
	_, tg := startService(t, "", f)
	resp, err := healthpb.NewHealthClient(tg.conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "demo.v1.Vault"})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
}

func TestRevocationsAreConsulted(t *testing.T) {
	f := newFixture(t)
	revoked := token.NewRevocationSet()
	svc, err := newService("", Config{Clock: f.clock, Revocations: revoked})
	require.NoError(t, err)
	tg := serve(t, svc.Server, svc.Stop, svc.HandlerCalls)
	require.Equal(t, codes.OK, tg.do(t, f.valid()).code)

	d, err := token.Inspect(f.grant)
	require.NoError(t, err)
	revoked.Revoke(d.String("jti"), f.clock.Now().Add(time.Hour))
	got := tg.do(t, f.valid())
	assert.Equal(t, answer{codes.PermissionDenied, reason.GrantRevoked}, answer{got.code, got.reason}, got.message)
	assert.False(t, got.ran)
}

// TestKidFilePathKeyDir checks the key directory of the kid-file-path
// service: a key file per pinned grant key (PEM, or the raw secret for
// HS256), in a temporary directory that Stop removes unless one was given.
func TestKidFilePathKeyDir(t *testing.T) {
	kid := func(alg string) string { return token.DevKeyID(token.DevGrantIssuer, alg) }
	t.Run("temporary", func(t *testing.T) {
		svc, err := New(KidFilePath, Config{})
		require.NoError(t, err)
		dir := svc.Config.KeyDir
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		assert.ElementsMatch(t, []string{kid(token.EdDSA), kid(token.ES256)}, names, "unpinned HS256 is left out")
		pem, err := os.ReadFile(filepath.Join(dir, kid(token.EdDSA)))
		require.NoError(t, err)
		assert.Contains(t, string(pem), "-----BEGIN PUBLIC KEY-----")
		svc.Stop()
		assert.NoDirExists(t, dir)
	})
	t.Run("given", func(t *testing.T) {
		dir := t.TempDir()
		svc, err := New(KidFilePath, Config{KeyDir: dir, Algorithms: []string{token.HS256}})
		require.NoError(t, err)
		svc.Stop()
		secret, err := os.ReadFile(filepath.Join(dir, kid(token.HS256)))
		require.NoError(t, err, "a given directory is kept")
		hs, err := token.DevKeySet(token.DevGrantIssuer).Lookup(kid(token.HS256), time.Now())
		require.NoError(t, err)
		assert.Equal(t, hs.Public, secret, "the raw secret")
	})
	t.Run("unusable kid", func(t *testing.T) {
		k, err := token.DeriveKey(token.EdDSA, "../escape", "x")
		require.NoError(t, err)
		_, err = New(KidFilePath, Config{GrantKeys: token.NewKeySet(k)})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot name a key file")
	})
}
