package zoo_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reports"
)

// A scp-array service given a JWKS URL reads its grant keys from it: here,
// from the key source a jitbench target config's key_source serves
// (conformance.ServedKeys), as jitbench's key rotation and key-source
// outage scenarios run it.

// pollBound is how long a poll waits for the target to change its mind: far
// more than the short refresh intervals the tests set, even on a loaded
// machine under -race.
const pollBound = 20 * time.Second

// eventually tries until try reports true, failing after pollBound.
func eventually(t *testing.T, what string, try func() bool) {
	t.Helper()
	for start := time.Now(); !try(); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > pollBound {
			t.Fatalf("%s: not within %s", what, pollBound)
		}
	}
}

// suiteKeysConfig writes f's scp-array config with TargetInfo.SuiteKeys and
// loads it, and starts the key source it names.
func suiteKeysConfig(t *testing.T, f *fixture) (*conformance.Config, *conformance.ServedKeys) {
	t.Helper()
	path, err := zoo.WriteTargetConfigFor(zoo.ScpArray, f.keys.Dir, zoo.TargetInfo{Addr: "127.0.0.1:1", SuiteKeys: true})
	require.NoError(t, err)
	cfg, err := conformance.LoadConfig(path)
	require.NoError(t, err)
	served, ok := cfg.KeySource.(*conformance.ServedKeys)
	require.True(t, ok, "the config has a key_source the suite serves: %T", cfg.KeySource)
	require.NoError(t, served.Start())
	t.Cleanup(func() { _ = served.Close() })
	return cfg, served
}

// signedBy is a valid unary call whose grant the key signed, under its kid.
func signedBy(t *testing.T, f *fixture, alg, kid string, key any) call {
	t.Helper()
	s, err := zoo.NewSigner(alg, kid, key)
	require.NoError(t, err)
	h, c := f.claims(f.conv.Grant, nil)
	h["kid"] = kid
	tok, err := s.Sign(h, c)
	require.NoError(t, err)
	return f.withGrant(t, tok)
}

// TestScpArraySuiteKeysConfig: with TargetInfo.SuiteKeys, scp-array's
// config gets a key_source; the key set the suite then serves carries the
// public half of the config's grant key file under the kid the service's
// grants carry; without it, the config is as before. Members that cannot
// read a JWKS refuse, and so do URLs the suite could not serve at.
func TestScpArraySuiteKeysConfig(t *testing.T) {
	f := newFixture(t, zoo.ScpArray)
	read := func(t *testing.T, info zoo.TargetInfo) map[string]any {
		t.Helper()
		path, err := zoo.WriteTargetConfigFor(zoo.ScpArray, f.keys.Dir, info)
		require.NoError(t, err)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(data, &doc))
		return doc
	}
	grantIssuer := func(doc map[string]any) map[string]any {
		return doc["keys"].(map[string]any)["grant"].(map[string]any)
	}

	plain := read(t, zoo.TargetInfo{Addr: "127.0.0.1:1"})
	assert.NotContains(t, plain, "key_source")
	assert.Equal(t, filepath.Join(f.keys.Dir, "grant-keys", f.conv.Grant.KeyID+".pem"), grantIssuer(plain)["public_file"],
		"the service holds its PEM file")

	suite := read(t, zoo.TargetInfo{Addr: "127.0.0.1:1", SuiteKeys: true})
	assert.Equal(t, map[string]any{"listen": "127.0.0.1:0"}, suite["key_source"])
	g := grantIssuer(suite)
	assert.Equal(t, filepath.Join(f.keys.Dir, f.conv.Grant.Key.PrivatePath), g["file"])
	assert.Equal(t, f.conv.Grant.KeyID, g["kid"])
	assert.NotContains(t, g, "public_file", "the service holds no key file")
	delete(suite, "key_source")
	delete(g, "public_file")
	delete(grantIssuer(plain), "public_file")
	assert.Equal(t, plain, suite, "the rest of the config is the same")

	at := read(t, zoo.TargetInfo{Addr: "127.0.0.1:1", SuiteKeys: true, JWKSURL: "http://127.0.0.1:8444/keys/jwks.json"})
	assert.Equal(t, map[string]any{"listen": "127.0.0.1:8444", "path": "/keys/jwks.json"}, at["key_source"])
	bare := read(t, zoo.TargetInfo{Addr: "127.0.0.1:1", SuiteKeys: true, JWKSURL: "http://localhost:8444"})
	assert.Equal(t, map[string]any{"listen": "localhost:8444", "path": "/"}, bare["key_source"])

	for _, tc := range []struct {
		url  string
		want map[string]any
	}{
		{"", map[string]any{"listen": "127.0.0.1:0"}}, // as before
		{"http://127.0.0.1:8444/shop", map[string]any{"listen": "127.0.0.1:8444", "path": "/shop"}},
	} {
		path, err := zoo.WriteTargetConfigFor(zoo.OAuthScope, t.TempDir(), zoo.TargetInfo{Addr: "127.0.0.1:1", JWKSURL: tc.url})
		require.NoError(t, err)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(data, &doc))
		assert.Equal(t, tc.want, doc["key_source"], "oauth-scope at %q", tc.url)
	}

	_, served := suiteKeysConfig(t, f)
	resp, err := http.Get(served.URL())
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(body, &set))
	require.Len(t, set.Keys, 1)
	k := set.Keys[0]
	assert.Equal(t, f.conv.Grant.KeyID, k.KeyID, "the served kid is the grants' kid")
	assert.Equal(t, zoo.ES256, k.Algorithm)
	assert.True(t, k.IsPublic(), "public half only")
	pub, ok := k.Key.(*ecdsa.PublicKey)
	require.True(t, ok, "%T", k.Key)
	assert.True(t, pub.Equal(f.keys.Grant.Public()), "the served key verifies the grant signer's grants")

	for _, tc := range []struct {
		name string
		kind zoo.Kind
		info zoo.TargetInfo
		want string
	}{
		{"methods-list", zoo.MethodsList, zoo.TargetInfo{SuiteKeys: true}, "never from a JWKS URL"},
		{"bearer-grant", zoo.BearerGrant, zoo.TargetInfo{SuiteKeys: true}, "never from a JWKS URL"},
		{"url without suite keys", zoo.ScpArray, zoo.TargetInfo{JWKSURL: "http://127.0.0.1:8444/"}, "only with TargetInfo.SuiteKeys"},
		{"https", zoo.ScpArray, zoo.TargetInfo{SuiteKeys: true, JWKSURL: "https://127.0.0.1:8444/"}, "plain http"},
		{"no port", zoo.ScpArray, zoo.TargetInfo{SuiteKeys: true, JWKSURL: "http://127.0.0.1/jwks"}, "no host and port"},
		{"query", zoo.ScpArray, zoo.TargetInfo{SuiteKeys: true, JWKSURL: "http://127.0.0.1:8444/jwks?v=2"}, "query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := zoo.WriteTargetConfigFor(tc.kind, t.TempDir(), tc.info)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	shop, err := zoo.Describe(zoo.OAuthScope)
	require.NoError(t, err)
	same, err := shop.WithSuiteKeys()
	require.NoError(t, err)
	assert.Equal(t, shop, same, "oauth-scope always reads its keys from the suite")
	files, err := f.conv.WithSuiteKeys()
	require.NoError(t, err)
	assert.Equal(t, zoo.KeyJWKSURL, files.Grant.Key.Format)
	assert.Subset(t, files.Capabilities, []string{zoo.CapKeySource, zoo.CapSuiteKeys})
	assert.NotContains(t, f.conv.Capabilities, zoo.CapSuiteKeys, "the convention it came from is unchanged")
}

// TestScpArraySuiteKeys: scp-array reading the suite's key source accepts
// grants its key signs; a key added and signing is accepted; a key removed
// is refused within a bound once the refresher has run; while the source
// is down the last good set is kept, and a kid it lacks is UNAVAILABLE.
func TestScpArraySuiteKeys(t *testing.T) {
	f := newFixture(t, zoo.ScpArray)
	_, served := suiteKeysConfig(t, f)
	tg := f.startWith(t, zoo.None, func(o *zoo.Options) {
		o.JWKSURL = served.URL()
		o.JWKSRefresh = 100 * time.Millisecond
	})
	assert.Equal(t, zoo.TargetInfo{Addr: tg.Addr, AdminURL: tg.AdminURL, SuiteKeys: true, JWKSURL: served.URL()}, tg.Info())

	got := tg.do(t, f.valid(t))
	require.Equal(t, codes.OK, got.code, got.msg)
	assert.True(t, got.ran)

	fresh, err := served.Fresh(t.Context())
	require.NoError(t, err)
	got = tg.do(t, signedBy(t, f, zoo.ES256, fresh.ID, fresh.Private))
	require.Equal(t, codes.OK, got.code, "a key the source added: %s", got.msg)
	stranger, err := zoo.GenerateSigner(zoo.ES256, "stranger")
	require.NoError(t, err)
	got = tg.do(t, signedBy(t, f, zoo.ES256, "stranger", stranger.Private()))
	assert.Equal(t, codes.PermissionDenied, got.code, "a key the source never served: %s", got.msg)

	require.NoError(t, served.Retire(t.Context(), fresh.ID))
	removed := signedBy(t, f, zoo.ES256, fresh.ID, fresh.Private)
	eventually(t, "the removed key is refused", func() bool { return tg.do(t, removed).code == codes.PermissionDenied })

	restore := served.Outage(0)
	next, err := served.Fresh(t.Context())
	require.NoError(t, err)
	got = tg.do(t, signedBy(t, f, zoo.ES256, next.ID, next.Private))
	assert.Equal(t, codes.Unavailable, got.code, "a kid it lacks while the source is down: %s", got.msg)
	assert.False(t, got.ran)
	got = tg.do(t, f.valid(t))
	assert.Equal(t, codes.OK, got.code, "the last good set is kept after a failed refresh: %s", got.msg)
	restore()
	got = tg.do(t, signedBy(t, f, zoo.ES256, next.ID, next.Private))
	assert.Equal(t, codes.OK, got.code, "the source is back: %s", got.msg)
}

// TestScpArraySuiteKeysConformance runs the catalog against scp-array
// reading the suite's key source, as jitbench would from its config: the
// correct build fails nothing, and the key source cases (DL-003, KEY-004,
// OUT-002, OUT-003), skipped for it without a key_source, now run and
// pass; the builds whose bugs are about keys still fail the cases that
// catch them.
func TestScpArraySuiteKeysConformance(t *testing.T) {
	run := func(t *testing.T, bug zoo.Bug, cases ...string) map[string]reports.ConformanceCase {
		f := newFixture(t, zoo.ScpArray)
		cfg, served := suiteKeysConfig(t, f)
		target, err := zoo.Start(zoo.ScpArray, bug, zoo.Options{KeysDir: f.keys.Dir, JWKSURL: served.URL()})
		require.NoError(t, err)
		t.Cleanup(target.Stop)
		cfg.Address, cfg.HandlerCalls = target.Addr, target.HandlerCalls
		res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: cases})
		require.NoError(t, err)
		t.Logf("%s", res.Summary())
		out := map[string]reports.ConformanceCase{}
		for _, c := range res.Cases {
			out[c.ID] = c
		}
		return out
	}
	t.Run("correct", func(t *testing.T) {
		got := run(t, zoo.None)
		for id, c := range got {
			assert.NotEqual(t, reports.CaseFail, c.Verdict, "%s %s: got %s %s (%s)", id, c.Rule, c.Got, c.Detail, c.Message)
			if c.Verdict == reports.CaseSkip {
				t.Logf("%s skipped: %s", id, c.Detail)
			}
		}
		for _, id := range []string{"DL-003", "KEY-003", "KEY-004", "OUT-002", "OUT-003"} {
			assert.Equal(t, reports.CasePass, got[id].Verdict, "%s ran and passed", id)
		}
	})
	for _, bug := range []zoo.Bug{zoo.UnknownKidFallback, zoo.HS256PublicKey, zoo.JKUFetched} {
		t.Run(string(bug), func(t *testing.T) {
			catches := zoo.Catches()[bug]
			got := run(t, bug, catches...)
			for _, id := range catches {
				assert.Equal(t, reports.CaseFail, got[id].Verdict, "%s catches %s", id, bug)
			}
		})
	}
}

// TestMainSuiteKeys: zoo-target --kind scp-array --jwks-url URL
// --target-config writes a config whose key_source serves the keys at URL,
// so jitbench can start after the service: until it serves, the service
// has no keys; then a grant's unknown kid fetches them. --jwks-refresh
// sets how soon a removed key is refused.
func TestMainSuiteKeys(t *testing.T) {
	f := newFixture(t, zoo.ScpArray)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	jwksURL := "http://" + lis.Addr().String() + "/files/jwks.json"
	require.NoError(t, lis.Close()) // the port jitbench is to serve on; free for now

	ctx, cancel := context.WithCancel(t.Context())
	out := &lineWriter{lines: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- zoo.Main(ctx, []string{"--kind", "scp-array", "--keys-dir", f.keys.Dir, "--now", t0.Format(time.RFC3339),
			"--jwks-url", jwksURL, "--jwks-refresh", "100ms", "--target-config"}, out, io.Discard)
	}()
	defer func() {
		cancel()
		assert.Equal(t, 0, <-done)
	}()
	var started zoo.Started
	select {
	case line := <-out.lines:
		require.NoError(t, json.Unmarshal([]byte(line), &started))
	case code := <-done:
		t.Fatalf("Main ended with %d before serving", code)
	}
	assert.Equal(t, jwksURL, started.JWKSURL)

	cfg, err := conformance.LoadConfig(started.TargetConfig)
	require.NoError(t, err)
	served, ok := cfg.KeySource.(*conformance.ServedKeys)
	require.True(t, ok, "%T", cfg.KeySource)
	require.NoError(t, served.Start())
	defer func() { _ = served.Close() }()
	require.Equal(t, jwksURL, served.URL(), "the suite serves where the service looks")

	conn, err := grpc.NewClient(started.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	f.files = reflectFiles(t, conn, f.conv.Service)
	tg := &target{conn: conn, f: f}
	assert.Equal(t, codes.OK, tg.call(t, f.valid(t)), "the keys are fetched for the grant's kid")

	fresh, err := served.Fresh(t.Context())
	require.NoError(t, err)
	c := signedBy(t, f, zoo.ES256, fresh.ID, fresh.Private)
	require.Equal(t, codes.OK, tg.call(t, c))
	require.NoError(t, served.Retire(t.Context(), fresh.ID))
	eventually(t, "the removed key is refused at the next refresh", func() bool { return tg.call(t, c) == codes.PermissionDenied })
}

// TestProcessSuiteKeys: StartProcess passes a scp-array target its JWKS URL
// and refresh interval.
func TestProcessSuiteKeys(t *testing.T) {
	f := newFixture(t, zoo.ScpArray)
	kid := f.conv.Grant.KeyID
	jwks, err := zoo.NewJWKSServer(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: f.keys.Grant.Public(), KeyID: kid, Algorithm: zoo.ES256, Use: "sig"}}})
	require.NoError(t, err)
	defer func() { assert.NoError(t, jwks.Close()) }()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a safety net for a child that never starts
	defer cancel()
	p, err := zoo.StartProcess(ctx, zoo.ProcessOptions{Kind: zoo.ScpArray, KeysDir: f.keys.Dir, Now: t0,
		JWKSURL: jwks.URL, JWKSRefresh: 100 * time.Millisecond})
	require.NoError(t, err)
	defer func() { assert.NoError(t, p.Stop()) }()
	conn, err := grpc.NewClient(p.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	f.files = reflectFiles(t, conn, f.conv.Service)
	tg := &target{conn: conn, f: f}
	c := f.valid(t)
	require.Equal(t, codes.OK, tg.call(t, c))
	other, err := zoo.GenerateSigner(zoo.ES256, "files-jit-9")
	require.NoError(t, err)
	jwks.Publish(jose.JSONWebKey{Key: other.Public(), KeyID: other.KeyID, Algorithm: zoo.ES256, Use: "sig"})
	fetches := jwks.Fetches()
	jwks.Retire(kid) // a set left empty would be refused, the last good one kept
	eventually(t, "the retired key is refused", func() bool { return tg.call(t, c) == codes.PermissionDenied })
	assert.Greater(t, jwks.Fetches(), fetches, fmt.Sprintf("refreshed from %s", jwks.URL))
}
