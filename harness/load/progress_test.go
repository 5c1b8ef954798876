package load

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// lockedBuffer is a bytes.Buffer the bar writes to from its own goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestNoProgressOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	assert.False(t, Interactive(&buf), "a buffer is no terminal")
	g, err := New(Options{Target: TargetFunc(func(context.Context) error { return nil }), Concurrency: 1, Calls: 10})
	require.NoError(t, err)
	p := StartProgress(&buf, g)
	assert.Nil(t, p)
	p.Stop() // safe on nil
	assert.Empty(t, buf.String())

	t.Setenv("CI", "true")
	assert.False(t, Interactive(os.Stderr), "never in CI, terminal or not")
}

// TestProgressBar draws the bar into a buffer, as it would on a terminal.
func TestProgressBar(t *testing.T) {
	n := 0
	var mu sync.Mutex
	g, err := New(Options{
		Target: TargetFunc(func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			n++
			time.Sleep(time.Millisecond)
			if n%10 == 0 {
				return status.Error(codes.PermissionDenied, "no")
			}
			return nil
		}),
		Concurrency: 1, Duration: 500 * time.Millisecond,
	})
	require.NoError(t, err)
	var out lockedBuffer
	p := startProgress(&out, g)
	_, err = g.Run(t.Context())
	require.NoError(t, err)
	p.Stop()
	s := out.String()
	assert.Contains(t, s, "load")
	assert.Contains(t, s, "/s  in flight")
	assert.Contains(t, s, "OK ")
	assert.Contains(t, s, "PERMISSION_DENIED ")
}

func TestProgressLine(t *testing.T) {
	s := Stats{Elapsed: 12500 * time.Millisecond, Sent: 1010, Done: 1007, Codes: map[string]int64{"UNAVAILABLE": 2, "OK": 1000, "PERMISSION_DENIED": 5}}
	assert.Equal(t, "12s  987.5/s  in flight 3  OK 1000  PERMISSION_DENIED 5  UNAVAILABLE 2", progressLine(s, 987.5))
}
