package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// controlCall sends one control API request and returns the status and decoded body.
func controlCall(t *testing.T, base, method, path, body string) (int, any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &out), "body %q", raw)
	} else {
		out = string(raw)
	}
	return resp.StatusCode, out
}

// TestControlAPI drives a live proxy through its control API: faults added,
// updated and removed take effect on the next call; refused requests
// answer 400 (or 404, 409) naming the field and change nothing.
func TestControlAPI(t *testing.T) {
	t.Parallel()
	_, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	srv := httptest.NewServer(proxy.ControlHandler(p.Faults(), p.Metrics()))
	t.Cleanup(srv.Close)
	ctx := ctxWithTimeout(t)
	callCode := func() codes.Code { _, err := unary(ctx, client); return status.Code(err) }

	code, body := controlCall(t, srv.URL, "GET", "/faults", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, []any{}, body)

	code, body = controlCall(t, srv.URL, "POST", "/faults",
		`{"name":"deny","kind":"abort","methods":["/grpc.testing.TestService/*"],"probability":1,"params":{"code":"PERMISSION_DENIED"}}`)
	require.Equal(t, http.StatusCreated, code, "body %v", body)
	assert.Equal(t, map[string]any{"name": "deny", "kind": "abort", "methods": []any{"/grpc.testing.TestService/*"},
		"probability": 1.0, "params": map[string]any{"code": "PERMISSION_DENIED"}}, body)
	assert.Equal(t, codes.PermissionDenied, callCode())

	// Refusals: each answers with the field and leaves the set as it was.
	refusals := []struct {
		name, method, path, body string
		wantCode                 int
		wantField                string
	}{
		{"bad probability", "POST", "/faults", `{"kind":"reset","probability":1.5}`, 400, "probability"},
		{"probability as text", "POST", "/faults", `{"kind":"reset","probability":"1"}`, 400, "probability"},
		{"unknown kind", "POST", "/faults", `{"kind":"explode"}`, 400, "kind"},
		{"missing kind", "POST", "/faults", `{"name":"x"}`, 400, "kind"},
		{"unknown field", "POST", "/faults", `{"kind":"reset","toxicity":1}`, 400, "toxicity"},
		{"field in another case", "POST", "/faults", `{"Kind":"reset"}`, 400, "Kind"},
		{"duplicate key", "POST", "/faults", `{"kind":"reset","kind":"reset"}`, 400, "kind"},
		{"duplicate param", "POST", "/faults", `{"kind":"latency","params":{"delay":"1s","delay":"2s"}}`, 400, "params.delay"},
		{"bad param", "POST", "/faults", `{"kind":"latency","params":{"delay":"soon"}}`, 400, "params.delay"},
		{"param as object", "POST", "/faults", `{"kind":"latency","params":{"delay":{"s":1}}}`, 400, "params.delay"},
		{"methods as text", "POST", "/faults", `{"kind":"reset","methods":"/a/*"}`, 400, "methods"},
		{"not JSON", "POST", "/faults", `kind=reset`, 400, "body"},
		{"trailing data", "POST", "/faults", `{"kind":"reset"} {}`, 400, "body"},
		{"empty body", "POST", "/faults", ``, 400, "body"},
		{"name taken", "POST", "/faults", `{"name":"deny","kind":"reset"}`, 409, "name"},
		{"update unknown", "POST", "/faults/nope", `{}`, 404, "name"},
		{"update bad param", "POST", "/faults/deny", `{"params":{"code":"NOPE"}}`, 400, "params.code"},
		{"update kind", "POST", "/faults/deny", `{"kind":"reset"}`, 400, "kind"},
		{"update name", "POST", "/faults/deny", `{"name":"other"}`, 400, "name"},
		{"get unknown", "GET", "/faults/nope", ``, 404, "name"},
		{"delete unknown", "DELETE", "/faults/nope", ``, 404, "name"},
	}
	for _, r := range refusals {
		code, body := controlCall(t, srv.URL, r.method, r.path, r.body)
		assert.Equal(t, r.wantCode, code, "%s: %v", r.name, body)
		m, _ := body.(map[string]any)
		assert.Equal(t, r.wantField, m["field"], "%s: %v", r.name, body)
		assert.NotEmpty(t, m["error"], r.name)
		assert.NotContains(t, m["error"], "\n", r.name)
	}
	_, body = controlCall(t, srv.URL, "GET", "/faults", "")
	require.Len(t, body, 1, "refusals changed nothing")
	assert.Equal(t, "PERMISSION_DENIED", body.([]any)[0].(map[string]any)["params"].(map[string]any)["code"])
	assert.Equal(t, codes.PermissionDenied, callCode())

	// Update: the keys given replace, params merge.
	code, body = controlCall(t, srv.URL, "POST", "/faults/deny", `{"params":{"code":"UNAVAILABLE","message":"down"}}`)
	require.Equal(t, http.StatusOK, code, "body %v", body)
	assert.Equal(t, []any{"/grpc.testing.TestService/*"}, body.(map[string]any)["methods"])
	_, err := unary(ctx, client)
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, "down", status.Convert(err).Message())
	code, _ = controlCall(t, srv.URL, "POST", "/faults/deny", `{"probability":0}`)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, codes.OK, callCode())
	code, body = controlCall(t, srv.URL, "GET", "/faults/deny", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 0.0, body.(map[string]any)["probability"])

	code, _ = controlCall(t, srv.URL, "DELETE", "/faults/deny", "")
	assert.Equal(t, http.StatusNoContent, code)
	_, body = controlCall(t, srv.URL, "GET", "/faults", "")
	assert.Equal(t, []any{}, body)

	code, _ = controlCall(t, srv.URL, "POST", "/faults", `{"kind":"reset"}`)
	require.Equal(t, http.StatusCreated, code)
	code, _ = controlCall(t, srv.URL, "DELETE", "/faults", "")
	assert.Equal(t, http.StatusNoContent, code)
	assert.Empty(t, p.Faults().List())

	code, body = controlCall(t, srv.URL, "GET", "/kinds", "")
	require.Equal(t, http.StatusOK, code)
	var kinds []string
	for _, k := range body.([]any) {
		kinds = append(kinds, k.(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"abort", "bandwidth", "blackhole", "deadline", "latency", "metadata", "reset"}, kinds)

	code, body = controlCall(t, srv.URL, "GET", "/metrics", "")
	require.Equal(t, http.StatusOK, code)
	text := body.(string)
	assert.Contains(t, text, `jitbench_proxy_calls_total{method="/grpc.testing.TestService/UnaryCall"} 4`)
	assert.Contains(t, text, `jitbench_proxy_faults_applied_total{fault="deny",kind="abort",method="/grpc.testing.TestService/UnaryCall"} 3`)
	assert.Contains(t, text, `jitbench_proxy_responses_total{code="PERMISSION_DENIED",method="/grpc.testing.TestService/UnaryCall"} 2`)
	assert.Contains(t, text, `jitbench_proxy_responses_total{code="OK",method="/grpc.testing.TestService/UnaryCall"} 1`)
}

// TestControlBodyLimit refuses a body past 64 KiB with 413.
func TestControlBodyLimit(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(proxy.ControlHandler(proxy.NewFaults(proxy.GRPC), proxy.NewMetrics()))
	t.Cleanup(srv.Close)
	code, body := controlCall(t, srv.URL, "POST", "/faults", `{"kind":"abort","params":{"message":"`+strings.Repeat("x", 70<<10)+`"}}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Equal(t, "body", body.(map[string]any)["field"])
}

// TestMetricsBounds keeps a bounded, valid label set whatever methods clients call.
func TestMetricsBounds(t *testing.T) {
	t.Parallel()
	m := proxy.NewMetrics()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	proxy.RecordCallForTest(m, "/bad/\xff\xfe")
	proxy.RecordCallForTest(m, "/long/"+strings.Repeat("x", 10_000))
	for i := range 600 {
		proxy.RecordCallForTest(m, "/m/"+strconv.Itoa(i))
	}
	snap := m.Snapshot()
	assert.Len(t, snap.Calls, 513, "512 methods and the rest")
	assert.Equal(t, uint64(90), snap.Calls[proxy.OtherMethod])
	assert.Equal(t, uint64(1), snap.Calls["/bad/\uFFFD"])
	for k := range snap.Calls {
		assert.LessOrEqual(t, len(k), 210)
	}
	code, body := controlCall(t, srv.URL, "GET", "", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `method="(other)"} 90`)
}
