package proxy_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// TestHeaderFaultsOff passes the fault headers through and applies nothing.
func TestHeaderFaultsOff(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	_, err := unary(ctxWithTimeout(t), client, proxy.HeaderAbortGRPC, "7", proxy.HeaderDelay, "100000")
	require.NoError(t, err)
	assert.Equal(t, []string{"7"}, up.last(t).md.Get(proxy.HeaderAbortGRPC), "passed through untouched")
	assert.Empty(t, p.Metrics().Snapshot().Applied)
}

// TestHeaderFaultsOn applies the faults a call's headers ask for, on that
// call only, and strips the headers before the upstream.
func TestHeaderFaultsOn(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	clock := clockwork.NewFakeClock()
	p, client := startProxy(t, addr, proxy.Config{Options: proxy.Options{HeaderFaults: true, Clock: clock}})
	ctx := ctxWithTimeout(t)

	tests := []struct {
		name string
		md   []string
		want codes.Code
	}{
		{"grpc abort", []string{proxy.HeaderAbortGRPC, "7"}, codes.PermissionDenied},
		{"http abort maps to a code", []string{proxy.HeaderAbortHTTP, "503"}, codes.Unavailable},
		{"abort at 100 percent", []string{proxy.HeaderAbortGRPC, "16", proxy.HeaderAbortPercentage, "100"}, codes.Unauthenticated},
		{"abort at 0 percent", []string{proxy.HeaderAbortGRPC, "16", proxy.HeaderAbortPercentage, "0"}, codes.OK},
		{"bad code asks nothing", []string{proxy.HeaderAbortGRPC, "PERMISSION_DENIED"}, codes.OK},
		{"code OK asks nothing", []string{proxy.HeaderAbortGRPC, "0"}, codes.OK},
		{"no fault header", nil, codes.OK},
	}
	for _, tt := range tests {
		_, err := unary(ctx, client, tt.md...)
		assert.Equal(t, tt.want, status.Code(err), tt.name)
	}
	snap := p.Metrics().Snapshot()
	assert.Equal(t, uint64(3), snap.AppliedBy("header-abort"))
	assert.Equal(t, int64(4), up.calls.Load())
	assert.Empty(t, up.last(t).md.Get(proxy.HeaderAbortGRPC))

	// A delay, on a stream: held on the fake clock, then through, header stripped.
	done := make(chan error, 1)
	go func() { _, err := serverStream(ctx, client, 2, proxy.HeaderDelay, "1500"); done <- err }()
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	assert.Equal(t, int64(4), up.calls.Load())
	clock.Advance(1500 * time.Millisecond)
	require.NoError(t, <-done)
	assert.Equal(t, int64(5), up.calls.Load())
	assert.Empty(t, up.last(t).md.Get(proxy.HeaderDelay))
	assert.Equal(t, uint64(1), p.Metrics().Snapshot().AppliedBy("header-delay"))
}

// lockedWriter collects log output from several goroutines.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) lines(t *testing.T) []map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(w.buf.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(l, &m), "line %q", l)
		out = append(out, m)
	}
	return out
}

// TestFaultLog writes one JSON line per applied fault, none for calls it spares.
func TestFaultLog(t *testing.T) {
	t.Parallel()
	_, addr, _ := startUpstream(t, nil)
	var w lockedWriter
	log := slog.New(slog.NewJSONHandler(&w, nil))
	p, client := startProxy(t, addr, proxy.Config{Options: proxy.Options{FaultLog: log}})
	mustAdd(t, p.Faults(), "metadata:action=drop")
	mustAdd(t, p.Faults(), "abort:name=deny,code=PERMISSION_DENIED,methods=/grpc.testing.TestService/UnaryCall")
	ctx := ctxWithTimeout(t)
	_, err := unary(ctx, client, "authorization", "Bearer x")
	require.Error(t, err)
	_, err = serverStream(ctx, client, 1)
	require.NoError(t, err)

	lines := w.lines(t)
	require.Len(t, lines, 3)
	assert.Equal(t, "fault applied", lines[0]["msg"])
	assert.Equal(t, "metadata", lines[0]["fault"])
	assert.Equal(t, true, lines[0]["present"])
	assert.Equal(t, "deny", lines[1]["fault"])
	assert.Equal(t, "abort", lines[1]["kind"])
	assert.Equal(t, unaryMethod, lines[1]["method"])
	assert.Equal(t, "PERMISSION_DENIED", lines[1]["code"])
	assert.Equal(t, "aborted with PERMISSION_DENIED: aborted by a jitbench proxy fault", lines[1]["ended_call"])
	assert.Equal(t, streamMethod, lines[2]["method"])
	assert.Equal(t, false, lines[2]["present"])
}
