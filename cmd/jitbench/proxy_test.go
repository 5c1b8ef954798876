package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// proxyUpstream serves gRPC health on a loopback port for the proxy to front.
func proxyUpstream(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// proxyClosedPort returns a loopback address nothing listens on.
func proxyClosedPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}

// TestProxyUsageErrors checks that bad flags, faults that do not parse and
// an upstream that does not answer exit 2 with one line naming the flag.
func TestProxyUsageErrors(t *testing.T) {
	t.Parallel()
	up := proxyUpstream(t)
	dir := t.TempDir()
	badFile := writeFile(t, filepath.Join(dir, "bad.yaml"), "faults:\n  - kind: latency\n    params: {delay: soon}\n")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = busy.Close() })
	free := "127.0.0.1:0"
	base := []string{"proxy", "--listen", free, "--upstream", up}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no upstream", []string{"proxy", "--listen", free}, []string{"--upstream is required"}},
		{"upstream without port", []string{"proxy", "--upstream", "svc.internal"}, []string{"--upstream", `"svc.internal"`}},
		{"upstream does not answer", []string{"proxy", "--listen", free, "--upstream", proxyClosedPort(t)}, []string{"--upstream", "does not answer"}},
		{"bad mode", append(base, "--mode", "tcp"), []string{"--mode", `"tcp"`}},
		{"unknown kind", append(base, "--fault", "explode"), []string{"--fault", `"explode"`, "kind:", "unknown fault kind"}},
		{"probability above 1", append(base, "--fault", "abort:code=UNAVAILABLE,p=1.5"), []string{"--fault", "probability:", "between 0 and 1"}},
		{"probability not a number", append(base, "--fault", "abort:code=UNAVAILABLE,p=often"), []string{"--fault", "probability:"}},
		{"param missing", append(base, "--fault", "abort"), []string{"--fault", "params.code: required"}},
		{"param bad", append(base, "--fault", "latency:delay=5x"), []string{"--fault", "params.delay:", `"5x"`}},
		{"spec syntax", append(base, "--fault", "latency:delay"), []string{"--fault", "delay: has no value"}},
		{"two faults of one name", append(base, "--fault", "reset", "--fault", "reset"), []string{"--fault", `"reset"`, "name="}},
		{"grpc-only kind on http", []string{"proxy", "--mode", "http", "--listen", free, "--upstream", up, "--fault", "deadline:timeout=1s"},
			[]string{"--fault", "kind: deadline does not apply to an http proxy"}},
		{"faults file missing", append(base, "--faults", filepath.Join(dir, "missing.yaml")), []string{"--faults", "missing.yaml"}},
		{"faults file bad", append(base, "--faults", badFile), []string{"--faults", badFile + ":3:21:", "params.delay"}},
		{"listen busy", []string{"proxy", "--listen", busy.Addr().String(), "--upstream", up}, []string{"--listen", busy.Addr().String()}},
		{"control busy", append(base, "--control", busy.Addr().String()), []string{"--control", busy.Addr().String()}},
		{"tls-cert alone", append(base, "--tls-cert", "c.pem"), []string{"--tls-cert and --tls-key"}},
		{"tls-dir alone", append(base, "--tls-dir", dir), []string{"--tls-dir", "--tls"}},
		{"upstream-ca missing", append(base, "--upstream-ca", filepath.Join(dir, "ca.crt")), []string{"--upstream-ca", "ca.crt"}},
		{"upstream-ca not PEM", append(base, "--upstream-ca", badFile), []string{"--upstream-ca", "no PEM certificate"}},
		{"server name without TLS", append(base, "--upstream-server-name", "svc"), []string{"--upstream-server-name", "--upstream-tls"}},
		{"connect-timeout 0", append(base, "--connect-timeout", "0"), []string{"--connect-timeout"}},
		{"http upstream scheme", []string{"proxy", "--mode", "http", "--upstream", "ftp://keys:21"}, []string{"--upstream", "http://"}},
		{"extra argument", append(base, "extra"), []string{"jitbench proxy", `unexpected argument "extra"`}},
		{"unknown flag", append(base, "--toxic", "x"), []string{"--toxic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stdout)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "want exactly one line, got %q", r.stderr)
			assert.True(t, strings.HasPrefix(r.stderr, "jitbench: "), "stderr %q", r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
		})
	}
}

// proxyStart runs 'jitbench proxy args...' in-process until the test ends.
func proxyStart(t *testing.T, args ...string) *serveProc {
	t.Helper()
	return startCommand(t, append([]string{"proxy"}, args...)...)
}

// TestProxyServes runs the command: a start-time fault applies, the
// control API switches faults live, the fault log gets a JSON line, and a
// stop exits 0.
func TestProxyServes(t *testing.T) {
	t.Parallel()
	up := proxyUpstream(t)
	p := proxyStart(t, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--upstream", up, "--json", "--seed", "42",
		"--log-faults", "--fault", "abort:name=deny,code=PERMISSION_DENIED,methods=/grpc.health.v1.Health/Watch")
	var info struct {
		Mode, Listen, Upstream, Control string
		Seed                            uint64
		Faults                          []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(p.line(t)), &info))
	assert.Equal(t, "grpc", info.Mode)
	assert.Equal(t, up, info.Upstream)
	assert.Equal(t, uint64(42), info.Seed)
	require.Len(t, info.Faults, 1)
	assert.Equal(t, "deny", info.Faults[0]["name"])

	conn, err := grpc.NewClient(info.Listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	hc := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err, "Check is out of the fault's scope")
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = w.Recv()
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "the start-time fault applies to the stream")

	// Live: an abort of every call through the control API, then its removal.
	base := "http://" + info.Control
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/faults", strings.NewReader(`{"name":"down","kind":"abort","params":{"code":"UNAVAILABLE"}}`))
	require.NoError(t, err)
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = r.Body.Close()
	require.Equal(t, http.StatusCreated, r.StatusCode)
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	req, err = http.NewRequestWithContext(ctx, "DELETE", base+"/faults/down", nil)
	require.NoError(t, err)
	r, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = r.Body.Close()
	require.Equal(t, http.StatusNoContent, r.StatusCode)
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)

	r, err = http.Get(base + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(metrics), `jitbench_proxy_faults_applied_total{fault="deny",kind="abort",method="/grpc.health.v1.Health/Watch"} 1`)
	assert.Contains(t, string(metrics), `jitbench_proxy_responses_total{code="UNAVAILABLE",method="/grpc.health.v1.Health/Check"} 1`)

	code, _ := p.stop(t)
	assert.Equal(t, exitOK, code)
	var logLines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "stderr line %q", l)
		logLines = append(logLines, m)
	}
	require.Len(t, logLines, 2, "one line per applied fault")
	assert.Equal(t, "deny", logLines[0]["fault"])
	assert.Equal(t, "down", logLines[1]["fault"])
	assert.Equal(t, "UNAVAILABLE", logLines[1]["code"])
}

// TestProxyHTTPMode fronts a plain HTTP key source: a start-time abort
// scoped to one path, the rest passing through.
func TestProxyHTTPMode(t *testing.T) {
	t.Parallel()
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"keys":[]}`) }))
	t.Cleanup(keys.Close)
	p := proxyStart(t, "--mode", "http", "--listen", "127.0.0.1:0", "--upstream", keys.URL, "--json",
		"--fault", "abort:http_status=503,methods=/.well-known/*")
	var info struct{ Mode, Listen string }
	require.NoError(t, json.Unmarshal([]byte(p.line(t)), &info))
	assert.Equal(t, "http", info.Mode)
	r, err := http.Get("http://" + info.Listen + "/.well-known/jwks.json")
	require.NoError(t, err)
	_ = r.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, r.StatusCode)
	r, err = http.Get("http://" + info.Listen + "/keys")
	require.NoError(t, err)
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, `{"keys":[]}`, string(body))
	code, _ := p.stop(t)
	assert.Equal(t, exitOK, code)
}

// TestProxyHelp shows the examples and every fault kind.
func TestProxyHelp(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "proxy", "--help")
	assert.Equal(t, exitOK, r.code)
	for _, want := range []string{"jitbench proxy --listen 127.0.0.1:9000 --upstream", "abort", "bandwidth", "blackhole", "deadline",
		"latency", "metadata", "reset", "x-envoy-fault-abort-grpc-request", "--control", "--faults", "Exit codes"} {
		assert.Contains(t, r.stdout, want)
	}
}
