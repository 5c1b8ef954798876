package zoo_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reports"
)

// revocable are the members with a revocation endpoint.
var revocable = []zoo.Kind{zoo.BearerGrant, zoo.ScpArray}

// withJTI is an edit giving the grant the id jti.
func withJTI(jti string) edit { return func(_, c map[string]any) { c["jti"] = jti } }

// revoke revokes jti on the service of conv whose admin API is at
// adminURL, through the jitbench revoke hook its convention's URL makes.
func revoke(t *testing.T, conv zoo.Convention, adminURL, jti string) {
	t.Helper()
	u := conv.RevokeURL(adminURL)
	require.NotEmpty(t, u, "%s has a revoke url", conv.Kind)
	require.NoError(t, conformance.HTTPRevoker{URL: u}.Revoke(t.Context(), jti))
}

// TestRevocation revokes a grant the service accepted and holds the
// refusal to the delay on the service's revocation clock (a fake one): the
// grant passes until the clock is one millisecond short of the delay and is
// refused, with the team's code and message, from the delay on; another
// grant of the same caller still passes.
func TestRevocation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  zoo.Kind
		opt   time.Duration // Options.RevocationDelay
		delay time.Duration // the delay that results
		msg   string
	}{
		{"bearer-grant own delay", zoo.BearerGrant, 0, 200 * time.Millisecond, "grant: the grant was revoked"},
		{"bearer-grant immediate", zoo.BearerGrant, zoo.ImmediateRevocation, 0, "grant: the grant was revoked"},
		{"bearer-grant 1s", zoo.BearerGrant, time.Second, time.Second, "grant: the grant was revoked"},
		{"scp-array at once", zoo.ScpArray, 0, 0, "grant: the grant has been revoked"},
		{"scp-array 500ms", zoo.ScpArray, 500 * time.Millisecond, 500 * time.Millisecond, "grant: the grant has been revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.kind)
			if tc.opt == 0 {
				assert.Equal(t, tc.delay, f.conv.RevocationDelay, "the member's own delay")
			}
			tg := f.startWith(t, zoo.None, func(o *zoo.Options) { o.RevocationDelay, o.RevocationClock = tc.opt, f.clock.Now })
			revoked := f.withGrant(t, f.grant(t, withJTI("grant-to-revoke")))
			other := f.valid(t)
			got := tg.do(t, revoked)
			require.Equal(t, codes.OK, got.code, got.msg)

			revoke(t, f.conv, tg.AdminURL, "grant-to-revoke")
			if tc.delay > 0 {
				got = tg.do(t, revoked)
				assert.Equal(t, codes.OK, got.code, "not yet replicated: %s", got.msg)
				f.clock.Advance(tc.delay - time.Millisecond)
				got = tg.do(t, revoked)
				assert.Equal(t, codes.OK, got.code, "a millisecond short of the delay: %s", got.msg)
				f.clock.Advance(time.Millisecond)
			}
			got = tg.do(t, revoked)
			assert.Equal(t, codes.PermissionDenied, got.code)
			assert.Equal(t, tc.msg, got.msg)
			assert.False(t, got.ran, "the handler did not run")
			got = tg.do(t, other)
			assert.Equal(t, codes.OK, got.code, "another grant still passes: %s", got.msg)
		})
	}
}

// TestRevocationOutlivesExp revokes a grant already past its exp but
// within the leeway, as SCP-003's after-exp variant does: it stays refused
// as revoked up to the last second the leeway would accept it, and is
// refused as expired after.
func TestRevocationOutlivesExp(t *testing.T) {
	for _, kind := range revocable {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind)
			tg := f.startWith(t, zoo.None, func(o *zoo.Options) {
				o.RevocationDelay, o.RevocationClock = zoo.ImmediateRevocation, f.clock.Now
			})
			exp := f.clock.Now().Add(-f.conv.Leeway / 2).Unix()
			c := f.withGrant(t, f.grant(t, func(_, c map[string]any) {
				c["jti"], c["exp"], c["iat"] = "late-grant", exp, exp-60
				if _, ok := c["nbf"]; ok {
					c["nbf"] = exp - 60
				}
			}))
			got := tg.do(t, c)
			require.Equal(t, codes.OK, got.code, "accepted within the leeway: %s", got.msg)

			revoke(t, f.conv, tg.AdminURL, "late-grant")
			got = tg.do(t, c)
			assert.Equal(t, codes.PermissionDenied, got.code)
			assert.Contains(t, got.msg, "revoked")
			f.clock.Advance(time.Unix(exp, 0).Add(f.conv.Leeway).Sub(f.clock.Now()))
			got = tg.do(t, c)
			assert.Equal(t, codes.PermissionDenied, got.code)
			assert.Contains(t, got.msg, "revoked", "the last instant the leeway accepts it")
			f.clock.Advance(time.Second)
			got = tg.do(t, c)
			assert.Equal(t, codes.PermissionDenied, got.code)
			assert.Contains(t, got.msg, "expired")
		})
	}
}

// TestRevokeEndpointBadRequests: each team's endpoint answers 405 to other
// methods, 400 to a missing, empty, repeated or oversized jti, 404 off its
// path, and revokes nothing then; a good request answers the team's 2xx.
func TestRevokeEndpointBadRequests(t *testing.T) {
	long := strings.Repeat("x", 257)
	for _, tc := range []struct {
		kind   zoo.Kind
		bad    []badRequest
		good   string
		status int
		body   string
	}{
		{zoo.BearerGrant, []badRequest{
			{http.MethodGet, "/admin/revocations?jti=kept", http.StatusMethodNotAllowed},
			{http.MethodPut, "/admin/revocations?jti=kept", http.StatusMethodNotAllowed},
			{http.MethodDelete, "/admin/revocations?jti=kept", http.StatusMethodNotAllowed},
			{http.MethodPost, "/admin/revocations", http.StatusBadRequest},
			{http.MethodPost, "/admin/revocations?jti=", http.StatusBadRequest},
			{http.MethodPost, "/admin/revocations?jti=kept&jti=other", http.StatusBadRequest},
			{http.MethodPost, "/admin/revocations?jti=kept&reason=x", http.StatusBadRequest},
			{http.MethodPost, "/admin/revocations?jti=%zz", http.StatusBadRequest},
			{http.MethodPost, "/admin/revocations?jti=" + long, http.StatusBadRequest},
			{http.MethodPost, "/admin/revocation?jti=kept", http.StatusNotFound},
			{http.MethodPost, "/v1/grants/kept/revoke", http.StatusNotFound},
		}, "/admin/revocations?jti=gone", http.StatusAccepted, "revocation accepted: in force within 0s\n"},
		{zoo.ScpArray, []badRequest{
			{http.MethodGet, "/v1/grants/kept/revoke", http.StatusMethodNotAllowed},
			{http.MethodPut, "/v1/grants/kept/revoke", http.StatusMethodNotAllowed},
			{http.MethodPost, "/v1/grants//revoke", http.StatusBadRequest},
			{http.MethodPost, "/v1/grants/" + long + "/revoke", http.StatusBadRequest},
			{http.MethodPost, "/v1/grants/kept", http.StatusNotFound},
			{http.MethodPost, "/v1/grants/kept/x/revoke", http.StatusNotFound},
			{http.MethodPost, "/admin/revocations?jti=kept", http.StatusNotFound},
		}, "/v1/grants/gone/revoke", http.StatusOK, `{"effective":"2026-03-01T12:00:00Z","jti":"gone","revoked":true}` + "\n"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			f := newFixture(t, tc.kind)
			tg := f.startWith(t, zoo.None, func(o *zoo.Options) {
				o.RevocationDelay, o.RevocationClock = zoo.ImmediateRevocation, f.clock.Now
			})
			kept, gone := f.withGrant(t, f.grant(t, withJTI("kept"))), f.withGrant(t, f.grant(t, withJTI("gone")))
			for _, b := range tc.bad {
				status, header, body := send(t, b.method, tg.AdminURL+b.path)
				assert.Equal(t, b.status, status, "%s %s: %s", b.method, b.path, body)
				if b.status == http.StatusMethodNotAllowed {
					assert.Equal(t, http.MethodPost, header.Get("Allow"), "%s %s", b.method, b.path)
				}
			}
			got := tg.do(t, kept)
			assert.Equal(t, codes.OK, got.code, "no bad request revoked it: %s", got.msg)

			status, _, body := send(t, http.MethodPost, tg.AdminURL+tc.good)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.body, body)
			assert.Equal(t, codes.PermissionDenied, tg.do(t, gone).code, "the good request revoked")
		})
	}
}

// badRequest is a request an admin endpoint refuses with status.
type badRequest struct {
	method, path string
	status       int
}

// send makes a request without a body and returns the answer.
func send(t *testing.T, method, u string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(body)
}

// TestWriteTargetConfigRevoke: with the admin URL known, the config of a
// member with revocation names its revoke url, and the suite reads it as an
// HTTP hook; without it, or for the other members, there is no hook.
func TestWriteTargetConfigRevoke(t *testing.T) {
	const admin = "http://127.0.0.1:2"
	want := map[zoo.Kind]string{
		zoo.BearerGrant: "http://127.0.0.1:2/admin/revocations?jti=${jti}",
		zoo.ScpArray:    "http://127.0.0.1:2/v1/grants/${jti}/revoke",
	}
	for _, kind := range zoo.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			dir := t.TempDir()
			_, err := zoo.GenerateKeys(kind, dir)
			require.NoError(t, err)
			path, err := zoo.WriteTargetConfigFor(kind, dir, zoo.TargetInfo{Addr: "127.0.0.1:1", AdminURL: admin})
			require.NoError(t, err)
			cfg, err := conformance.LoadConfig(path)
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1:1", cfg.Address)
			if want[kind] == "" {
				assert.Nil(t, cfg.Revoker, "no revocation endpoint")
			} else {
				assert.Equal(t, conformance.HTTPRevoker{URL: want[kind]}, cfg.Revoker)
			}

			path, err = zoo.WriteTargetConfig(kind, dir, "127.0.0.1:1")
			require.NoError(t, err)
			cfg, err = conformance.LoadConfig(path)
			require.NoError(t, err)
			assert.Nil(t, cfg.Revoker, "the admin URL is unknown")
		})
	}
}

// TestSuiteRevokesThroughHook runs SCP-003 with the config written for a
// running service: the suite revokes its grants through the service's own
// endpoint (the payouts replica at its 200 ms), both variants run and pass.
func TestSuiteRevokesThroughHook(t *testing.T) {
	for _, kind := range revocable {
		t.Run(string(kind), func(t *testing.T) {
			dir := t.TempDir()
			_, err := zoo.GenerateKeys(kind, dir)
			require.NoError(t, err)
			tg, err := zoo.Start(kind, zoo.None, zoo.Options{KeysDir: dir})
			require.NoError(t, err)
			t.Cleanup(tg.Stop)
			path, err := zoo.WriteTargetConfigFor(kind, dir, tg.Info())
			require.NoError(t, err)
			cfg, err := conformance.LoadConfig(path)
			require.NoError(t, err)
			cfg.HandlerCalls = tg.HandlerCalls
			res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: []string{"SCP-003"}})
			require.NoError(t, err)
			i := slices.IndexFunc(res.Cases, func(c reports.ConformanceCase) bool { return c.ID == "SCP-003" })
			require.GreaterOrEqual(t, i, 0, "SCP-003 ran")
			c := res.Cases[i]
			assert.Equal(t, reports.CasePass, c.Verdict, "%s %s (%s)", c.Rule, c.Detail, c.Message)
			var ran []string
			for _, v := range c.Variants {
				if !v.Skipped {
					ran = append(ran, v.Name)
				}
				assert.Contains(t, v.Message, "revoked", v.Name)
			}
			assert.Equal(t, []string{"revoked", "after-exp"}, ran)
		})
	}
}

// TestProcessRevocation runs the members as processes: the Started line
// reports the admin URL (none for a member without revocation), and
// --revocation-delay reaches the process: at once, a revoked grant is
// refused on the next call; an hour, it is still accepted.
func TestProcessRevocation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    zoo.Kind
		delay   time.Duration
		refused bool
	}{
		{"bearer-grant immediate", zoo.BearerGrant, zoo.ImmediateRevocation, true},
		{"bearer-grant 1h", zoo.BearerGrant, time.Hour, false},
		{"scp-array own", zoo.ScpArray, 0, true},
		{"scp-array 1h", zoo.ScpArray, time.Hour, false},
		{"methods-list", zoo.MethodsList, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.kind)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a safety net for a child that never starts
			defer cancel()
			p, err := zoo.StartProcess(ctx, zoo.ProcessOptions{Kind: tc.kind, KeysDir: f.keys.Dir, Now: t0, RevocationDelay: tc.delay})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Stop()) })
			if tc.kind == zoo.MethodsList {
				assert.Empty(t, p.AdminURL)
				return
			}
			u, err := url.Parse(p.AdminURL)
			require.NoError(t, err)
			assert.Equal(t, "http", u.Scheme)
			assert.Equal(t, "127.0.0.1", u.Hostname(), "the admin API listens on loopback")

			tg := processTarget(t, f, p.Addr)
			c := f.withGrant(t, f.grant(t, withJTI("process-grant")))
			require.Equal(t, codes.OK, tg.call(t, c))
			revoke(t, f.conv, p.AdminURL, "process-grant")
			want := codes.OK
			if tc.refused {
				want = codes.PermissionDenied
			}
			assert.Equal(t, want, tg.call(t, c))
		})
	}
}

// TestMainTargetConfigHasRevokeURL: --target-config writes the revoke url
// of the admin API the Started line reports, and a negative
// --revocation-delay is bad usage.
func TestMainTargetConfigHasRevokeURL(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	out := &lineWriter{lines: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- zoo.Main(ctx, []string{"--kind", "scp-array", "--keys-dir", dir, "--generate-keys", "--target-config",
			"--revocation-delay", "0"}, out, io.Discard)
	}()
	var started zoo.Started
	select {
	case line := <-out.lines:
		require.NoError(t, json.Unmarshal([]byte(line), &started))
	case code := <-done:
		t.Fatalf("Main ended with %d before serving", code)
	}
	defer func() {
		cancel()
		assert.Equal(t, 0, <-done)
	}()
	require.NotEmpty(t, started.AdminURL)
	cfg, err := conformance.LoadConfig(started.TargetConfig)
	require.NoError(t, err)
	assert.Equal(t, conformance.HTTPRevoker{URL: started.AdminURL + "/v1/grants/${jti}/revoke"}, cfg.Revoker)
	require.NoError(t, cfg.Revoker.Revoke(t.Context(), "through-main"), "the url revokes")

	var stderr strings.Builder
	code := zoo.Main(t.Context(), []string{"--kind", "bearer-grant", "--keys-dir", t.TempDir(), "--revocation-delay", "-1s"}, io.Discard, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "--revocation-delay: must not be negative")
}

// processTarget connects to a zoo process at addr.
func processTarget(t *testing.T, f *fixture, addr string) *target {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	if f.files == nil {
		f.files = reflectFiles(t, conn, f.conv.Service)
	}
	return &target{conn: conn, f: f}
}
