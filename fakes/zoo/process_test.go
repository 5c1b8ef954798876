package zoo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// TestProcess runs each member's correct build (and one buggy build) as a
// separate process, this test binary re-executed: a valid call passes, a
// forged one follows the build, and the probe counts handler runs across
// the process boundary.
func TestProcess(t *testing.T) {
	for _, k := range zoo.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			f := newFixture(t, k)
			opts := zoo.ProcessOptions{Kind: k, KeysDir: f.keys.Dir, Now: t0}
			if f.jwks != nil {
				opts.JWKSURL = f.jwks.URL
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a safety net for a child that never starts
			defer cancel()
			for _, bug := range []zoo.Bug{zoo.None, zoo.NoIssCheck} {
				opts.Bug = bug
				p, err := zoo.StartProcess(ctx, opts)
				require.NoError(t, err)
				conn, err := grpc.NewClient(p.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				require.NoError(t, err)
				tg := &target{conn: conn, f: f}
				if f.files == nil {
					f.files = reflectFiles(t, conn, f.conv.Service)
				}
				assert.Equal(t, codes.OK, tg.call(t, f.valid(t)), "valid")
				forged := tg.call(t, grantCall(func(_, c map[string]any) { c["iss"] = "https://evil.example" })(t, f))
				if bug == zoo.None {
					assert.Equal(t, f.tokenFault(), forged)
				} else {
					assert.Equal(t, codes.OK, forged)
				}
				n, err := zoo.HandlerCalls(ctx, conn)
				require.NoError(t, err)
				assert.Equal(t, map[zoo.Bug]int64{zoo.None: 1, zoo.NoIssCheck: 2}[bug], n)
				require.NoError(t, conn.Close())
				require.NoError(t, p.Stop())
			}
		})
	}
}

// call makes c on a target without an in-process counter and returns its code.
func (tg *target) call(t *testing.T, c call) codes.Code {
	t.Helper()
	m := tg.f.methodDesc(t, c.Method)
	ctx, cancel := context.WithTimeout(metadataContext(c), 10*time.Second)
	defer cancel()
	return statusCode(tg.conn.Invoke(ctx, c.Method, requestFor(t, m, c.JSON), responseFor(m)))
}

func TestProcessBadUsage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := zoo.StartProcess(ctx, zoo.ProcessOptions{Kind: "opaque", KeysDir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown zoo kind", "the child's own message")
}

// TestMainWritesTargetConfig: --target-config writes a config naming the
// address the service serves on, and refuses oauth-scope, whose keys
// jitbench itself serves.
func TestMainWritesTargetConfig(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	out := &lineWriter{lines: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- zoo.Main(ctx, []string{"--kind", "methods-list", "--keys-dir", dir, "--generate-keys", "--target-config"}, out, io.Discard)
	}()
	var started zoo.Started
	select {
	case line := <-out.lines:
		require.NoError(t, json.Unmarshal([]byte(line), &started))
	case code := <-done:
		t.Fatalf("Main ended with %d before serving", code)
	}
	cancel()
	assert.Equal(t, 0, <-done)
	assert.Equal(t, filepath.Join(dir, "target.yaml"), started.TargetConfig)
	data, err := os.ReadFile(started.TargetConfig)
	require.NoError(t, err)
	assert.Contains(t, string(data), "address: "+started.Addr)

	var stderr bytes.Buffer
	code := zoo.Main(t.Context(), []string{"--kind", "oauth-scope", "--keys-dir", t.TempDir(), "--target-config"}, io.Discard, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "--target-config: oauth-scope")
}

// lineWriter hands each line written to it to lines.
type lineWriter struct{ lines chan string }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.lines <- string(p)
	return len(p), nil
}
