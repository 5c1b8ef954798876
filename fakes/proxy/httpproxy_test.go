package proxy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// keySource is an HTTP upstream that serves a JWKS and records the Authorization it saw.
type keySource struct {
	calls atomic.Int64
	mu    sync.Mutex
	auth  []string
	host  string
}

func (k *keySource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.calls.Add(1)
	k.mu.Lock()
	k.auth = append(k.auth, r.Header.Get("Authorization"))
	k.host = r.Host
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"keys":[]}`)
}

// startHTTPProxy runs an HTTP proxy in front of a key source.
func startHTTPProxy(t *testing.T, o proxy.Options) (*proxy.HTTPProxy, *keySource, string) {
	t.Helper()
	ks := &keySource{}
	up := httptest.NewServer(ks)
	t.Cleanup(up.Close)
	u, err := proxy.ParseHTTPUpstream(up.URL, false)
	require.NoError(t, err)
	p, err := proxy.NewHTTP(proxy.HTTPConfig{Options: o, Upstream: u})
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Serve(lis) }()
	t.Cleanup(func() { _ = p.Close(); <-done })
	return p, ks, "http://" + lis.Addr().String()
}

func get(ctx context.Context, url string, hdr ...string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// TestHTTPProxy runs the faults that apply to a plain HTTP upstream.
func TestHTTPProxy(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClock()
	p, ks, base := startHTTPProxy(t, proxy.Options{Clock: clock, HeaderFaults: true})
	ctx := ctxWithTimeout(t)

	resp, body, err := get(ctx, base+"/.well-known/jwks.json", "Authorization", "Bearer x")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `{"keys":[]}`, body)
	assert.Equal(t, []string{"Bearer x"}, ks.auth)

	mustAdd(t, p.Faults(), "abort:http_status=503,message=keys down,methods=/.well-known/*")
	resp, body, err = get(ctx, base+"/.well-known/jwks.json")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "keys down\n", body)
	resp, _, err = get(ctx, base+"/other")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "out of scope")
	require.NoError(t, p.Faults().Remove("abort"))

	mustAdd(t, p.Faults(), "abort:code=PERMISSION_DENIED")
	resp, _, err = get(ctx, base+"/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a gRPC code maps to its HTTP status")
	require.NoError(t, p.Faults().Remove("abort"))

	mustAdd(t, p.Faults(), "metadata:action=drop")
	_, _, err = get(ctx, base+"/", "Authorization", "Bearer y")
	require.NoError(t, err)
	assert.Equal(t, "", ks.auth[len(ks.auth)-1])
	require.NoError(t, p.Faults().Remove("metadata"))

	mustAdd(t, p.Faults(), "reset")
	_, _, err = get(ctx, base+"/")
	assert.Error(t, err, "the response is aborted")
	require.NoError(t, p.Faults().Remove("reset"))

	mustAdd(t, p.Faults(), "latency:delay=3s")
	done := make(chan int, 1)
	go func() {
		resp, _, err := get(ctx, base+"/")
		if err != nil {
			done <- 0
			return
		}
		done <- resp.StatusCode
	}()
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	before := ks.calls.Load()
	clock.Advance(3 * time.Second)
	assert.Equal(t, http.StatusOK, <-done)
	assert.Equal(t, before+1, ks.calls.Load())
	require.NoError(t, p.Faults().Remove("latency"))

	mustAdd(t, p.Faults(), "blackhole")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, _, err = get(short, base+"/")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, p.Faults().Remove("blackhole"))

	resp, _, err = get(ctx, base+"/", proxy.HeaderAbortHTTP, "429")
	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	snap := p.Metrics().Snapshot()
	for _, f := range []string{"abort", "metadata", "reset", "latency", "blackhole", "header-abort"} {
		assert.Positive(t, snap.AppliedBy(f), f)
	}
	assert.Equal(t, uint64(1), snap.CodeCount("503"))
	assert.Equal(t, uint64(1), snap.CodeCount("403"))
	assert.Positive(t, snap.CodeCount("reset"), "Go's client retries a GET once on a reused connection")
	assert.Equal(t, uint64(1), snap.CodeCount("429"))
	ks.mu.Lock()
	assert.NotEqual(t, base[len("http://"):], ks.host, "the upstream sees its own host")
	ks.mu.Unlock()
}

// TestHTTPUpstreamDown answers 502 in one line when the upstream does not answer.
func TestHTTPUpstreamDown(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	u, err := proxy.ParseHTTPUpstream(addr, false)
	require.NoError(t, err)
	p, err := proxy.NewHTTP(proxy.HTTPConfig{Upstream: u})
	require.NoError(t, err)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	resp, body, err := get(ctxWithTimeout(t), srv.URL+"/keys")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, "jitbench proxy: upstream:")
	assert.Equal(t, uint64(1), p.Metrics().Snapshot().CodeCount("502"))
}

func TestParseHTTPUpstream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		tls     bool
		want    string
		wantErr string
	}{
		{"keys.internal:8080", false, "http://keys.internal:8080", ""},
		{"keys.internal:8443", true, "https://keys.internal:8443", ""},
		{"https://idp:443/prefix", false, "https://idp:443/prefix", ""},
		{"ftp://idp:21", false, "", "want http:// or https://"},
		{"keys.internal", false, "", "want host:port"},
		{"http://idp:80/?q=1", false, "", "no user, query or fragment"},
		{"http://idp:80", true, "", "TLS toward the upstream"},
	}
	for _, tt := range tests {
		u, err := proxy.ParseHTTPUpstream(tt.in, tt.tls)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, u.String())
	}
}
