package conformance_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/reports"
)

// httpJWKS is a grant key source as many services have one: a JWKS URL,
// fetched again for a kid not in the copy it holds, the copy replaced
// whole. A fetch that fails is an error (the reference reads it as its
// key source being unavailable).
type httpJWKS struct {
	url string
	mu  sync.Mutex
	set *token.KeySet
}

// Lookup implements token.KeyResolver.
func (h *httpJWKS) Lookup(kid string, now time.Time) (*token.Key, error) {
	h.mu.Lock()
	set := h.set
	h.mu.Unlock()
	if set != nil {
		if k, err := set.Lookup(kid, now); err == nil {
			return k, nil
		}
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(h.url)
	if err != nil {
		return nil, fmt.Errorf("fetch the keys: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch the keys: %w", err)
	}
	if set, err = token.ParseKeySet(body); err != nil {
		return nil, fmt.Errorf("the keys: %w", err)
	}
	h.mu.Lock()
	h.set = set
	h.mu.Unlock()
	return set.Lookup(kid, now)
}

// foreignKeys writes an ES256 grant key as PKCS#8 PEM (no kid, no alg: the
// config says them) and the development identity provider's keys as a JWKS.
func foreignKeys(t *testing.T, dir string) {
	t.Helper()
	key, err := token.GenerateKey(token.ES256, "unused")
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key.Private)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broker.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	idp, err := token.MarshalKeySet(token.DevKeySet(token.DevIdentityIssuer).Keys())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "idp.jwks"), idp, 0o600))
}

// TestServedKeySourceAndRevokeHook runs, from a YAML config as the command
// line would, the cases a black-box service only has with a key source the
// suite serves and a revoke hook: the reference verifies grants with keys
// it fetches from the suite's JWKS URL, signed by a PEM key, and its
// revocations are fed by an HTTP hook.
func TestServedKeySourceAndRevokeHook(t *testing.T) {
	dir := t.TempDir()
	foreignKeys(t, dir)
	revoked := token.NewRevocationSet()
	revoked.CoverLeeway(token.DefaultLeeway)
	var hookCalls atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, http.MethodPost, r.Method)
		hookCalls.Add(1)
		revoked.Revoke(r.URL.Query().Get("jti"), time.Now().Add(time.Hour))
	}))
	t.Cleanup(hook.Close)
	yaml := fmt.Sprintf(`address: 127.0.0.1:1
method: /demo.v1.Vault/Read
payload: '{"path":"secrets/db/password"}'
control: {method: /grpc.health.v1.Health/Check, payload: '{}'}
keys:
  identity: {issuer: %s, file: idp.jwks}
  grant: {issuer: pem-broker, file: broker.pem, kid: broker-1}
audience: %s
subject: alice
max_grant_lifetime: 1h
kid_required: true
typ_checked: true
strict_signatures: true
resource: {pattern: secrets/*}
key_source: {listen: 127.0.0.1:0}
revoke: {url: "%s/revoke?jti=${jti}"}
`, token.DevIdentityIssuer, token.DevAudience, hook.URL)
	path := filepath.Join(dir, "target.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	cfg, err := conformance.LoadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, []string{token.ES256}, cfg.Algorithms, "the algorithms of the keys that sign")
	served, ok := cfg.KeySource.(*conformance.ServedKeys)
	require.True(t, ok, "key_source makes a served key source")
	require.NoError(t, served.Start()) // before the service, which is told its URL
	t.Cleanup(func() { _ = served.Close() })

	svc, err := stack.New(stack.Config{GrantIssuer: "pem-broker", GrantKeys: &httpJWKS{url: served.URL()}, Revocations: revoked})
	require.NoError(t, err)
	cfg.Address = serveOnLoopback(t, svc.Server, svc.Server.Stop)
	cfg.HandlerCalls = svc.Vault.TotalHandlerCalls

	res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{
		Run: []string{"OK-001", "KEY-00[1-5]", "DL-003", "OUT-00[23]", "SCP-003", "ALG-002", "SIG-00[345]", "CLM-010"}})
	require.NoError(t, err)
	for _, c := range res.Cases {
		assert.Equal(t, reports.CasePass, c.Verdict, "%s: %s %s: %s %s", c.ID, c.Got, c.Reason, c.Rule, c.Detail)
	}
	scp := byID(t, res, "SCP-003")
	require.Len(t, scp.Variants, 2)
	assert.Equal(t, "after-exp", scp.Variants[1].Name)
	assert.Equal(t, int64(2), hookCalls.Load(), "the hook revoked both grants")
	assert.Greater(t, served.Fetches(), 3, "the service read its keys from the suite")
	assert.Contains(t, strings.Join(res.Notes, "\n"), "the suite served the grant keys at "+served.URL())
}

// fetchingService is the reference behind an interceptor that does what
// no verifier may: it connects to the URL a token's jku or x5u names (over
// TLS, so no HTTP request ever reaches the suite's listener: only the
// connection tells).
func fetchingService(t *testing.T) (string, *stack.Service) {
	t.Helper()
	fetch := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		for _, tok := range metadata.ValueFromIncomingContext(ctx, "x-jit-grant") {
			head, _, _ := strings.Cut(tok, ".")
			raw, _ := base64.RawURLEncoding.DecodeString(head)
			var h map[string]any
			_ = json.Unmarshal(raw, &h)
			for _, k := range []string{"jku", "x5u"} {
				if u, ok := h[k].(string); ok {
					// A careful fetcher insists on HTTPS: its handshake with a
					// plain listener fails before any HTTP request is made.
					if resp, err := http.Get(strings.Replace(u, "http://", "https://", 1)); err == nil {
						_ = resp.Body.Close()
					}
					return nil, status.Error(codes.PermissionDenied, "no keys there")
				}
			}
		}
		return next(ctx, req)
	}
	svc, err := stack.New(stack.Config{ServerOptions: []grpc.ServerOption{grpc.UnaryInterceptor(fetch)}})
	require.NoError(t, err)
	return serveOnLoopback(t, svc.Server, svc.Server.Stop), svc
}

// TestOutboundFetchIsCaught: a service that fetches what jku or x5u names
// makes a real connection to the suite's listener, and KEY-002 fails for it
// even though the service refused the token.
func TestOutboundFetchIsCaught(t *testing.T) {
	addr, svc := fetchingService(t)
	res, err := conformance.RunSuite(t.Context(), blackBox(addr, svc.Vault.TotalHandlerCalls), conformance.Options{Run: []string{"KEY-002"}})
	require.NoError(t, err)
	c := byID(t, res, "KEY-002")
	assert.Equal(t, reports.CaseFail, c.Verdict)
	assert.Equal(t, conformance.RuleNoOutboundFetch, c.Rule)
	assert.Contains(t, c.Detail, "connected to the URL a token header named")
	assert.Equal(t, "PERMISSION_DENIED", c.Got, "refused, and still caught")
}

// TestControlComesFirst: a config that does not match the service stops
// the run at OK-001 with the part of the config that most likely does not
// match; the cases after it do not run.
func TestControlComesFirst(t *testing.T) {
	svc, err := stack.New(stack.Config{})
	require.NoError(t, err)
	addr := serveOnLoopback(t, svc.Server, svc.Server.Stop)
	other, err := token.DeriveKey(token.EdDSA, "stranger", "stranger")
	require.NoError(t, err)
	for _, tt := range []struct {
		name   string
		change func(c *conformance.Config)
		want   string
	}{
		{"audience", func(c *conformance.Config) { c.Audience = "shop.v1.Cart" }, "the audience (audience)"},
		{"issuer", func(c *conformance.Config) { c.Grant.Name = "another-broker" }, "the issuer (keys.*.issuer)"},
		{"key", func(c *conformance.Config) { c.Grant.Keys = token.NewKeySet(other) }, "the key (keys.*"},
		{"grant header", func(c *conformance.Config) { c.GrantHeader = "x-access-grant" }, "the credential headers"},
		{"identity scheme", func(c *conformance.Config) { c.IdentityScheme = conformance.NoScheme }, "the profile (profile) or the header schemes"},
		{"typ", func(c *conformance.Config) { c.GrantToken.Typ = "at+jwt" }, "the JOSE header"},
		{"method form", func(c *conformance.Config) { c.GrantToken.MethodForm = "pkg.Service.Method" }, "the claim layout (tokens.grant"},
		{"profile", func(c *conformance.Config) { c.Profile = conformance.SingleToken }, "the JOSE header"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := blackBox(addr, svc.Vault.TotalHandlerCalls)
			tt.change(cfg)
			res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{})
			require.ErrorIs(t, err, conformance.ErrControlFailed)
			assert.Contains(t, err.Error(), "most likely "+tt.want)
			assert.Contains(t, err.Error(), "the suite sent header {")
			require.NotNil(t, res)
			require.Len(t, res.Cases, 1, "nothing runs after a failed control")
			assert.Equal(t, reports.CaseFail, res.Cases[0].Verdict)
		})
	}

	// With OK-001 left out of the selection it still runs first, and is reported only when it fails.
	res, err := conformance.RunSuite(t.Context(), blackBox(addr, svc.Vault.TotalHandlerCalls), conformance.Options{Run: []string{"ALG-001"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"ALG-001"}, []string{res.Cases[0].ID})
	require.Len(t, res.Cases, 1)

	_, err = conformance.RunSuite(t.Context(), blackBox(addr, svc.Vault.TotalHandlerCalls), conformance.Options{Run: []string{"OK-001", "SKW-001", "DL-003"}})
	require.ErrorIs(t, err, conformance.ErrNothingChecked)
}

// TestSetupFailureIsNotAVerdict: a revoke hook that fails makes SCP-003 an
// error of the setup, never a failure of the service.
func TestSetupFailureIsNotAVerdict(t *testing.T) {
	svc, err := stack.New(stack.Config{})
	require.NoError(t, err)
	cfg := blackBox(serveOnLoopback(t, svc.Server, svc.Server.Stop), svc.Vault.TotalHandlerCalls)
	cfg.Revoker = conformance.CommandRevoker{Args: []string{"false"}}
	res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: []string{"SCP-003", "ALG-001"}})
	require.ErrorIs(t, err, conformance.ErrSetup)
	assert.Contains(t, err.Error(), "SCP-003: revoke command false: exit status 1")
	c := byID(t, res, "SCP-003")
	assert.Equal(t, reports.CaseSkip, c.Verdict)
	assert.Equal(t, conformance.RuleSetup, c.Rule)
	assert.False(t, res.Failed(), "a setup error is not a failure of the service")
	var text strings.Builder
	require.NoError(t, reports.RenderConformance(&text, res, "text"))
	assert.Contains(t, text.String(), "\nERROR: setup failed: SCP-003: revoke command false: exit status 1", "never PASS")
	assert.NotContains(t, text.String(), "PASS")
}
