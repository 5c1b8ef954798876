package load_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/harness/load"
)

// lineWriter hands each line written to it to the test.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// TestProgressLogOffTerminal: where no bar can be drawn, a long run still
// says how it is doing, one line per interval of its (fake) clock, and a
// run shorter than an interval says nothing.
func TestProgressLogOffTerminal(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	release := make(chan struct{})
	var n atomic.Int64
	g := newGen(t, load.Options{
		Target: load.TargetFunc(func(ctx context.Context) error {
			switch n.Add(1) {
			case 1:
				return status.Error(codes.Unavailable, "down")
			case 4:
				<-release
			}
			return nil
		}),
		Concurrency: 1, Calls: 4, Clock: fc,
	})
	lines := make(lineWriter, 4)
	log := load.StartProgressLog(lines, g, 5*time.Second, fc)
	results, done := runAsync(t, g)
	require.Eventually(t, func() bool { return g.Stats().Sent == 4 }, 5*time.Second, time.Millisecond)
	select {
	case l := <-lines:
		t.Fatalf("a line before the first interval: %q", l)
	default:
	}
	require.NoError(t, fc.BlockUntilContext(t.Context(), 1))
	fc.Advance(5 * time.Second)
	assert.Equal(t, "jitbench: load 5s (3 of 4 calls)  0.6/s  in flight 1  OK 2  UNAVAILABLE 1\n", <-lines)
	close(release)
	<-done
	<-results
	log.Stop()
	log.Stop() // twice is fine
	assert.Empty(t, lines, "nothing after Stop")
}

func TestLogLineOfADuration(t *testing.T) {
	g := newGen(t, load.Options{Target: load.TargetFunc(func(context.Context) error { return nil }),
		Concurrency: 1, Duration: 30 * time.Second, WarmUp: 2 * time.Second})
	s := load.Stats{Elapsed: 10500 * time.Millisecond, Sent: 1000, Done: 999, Codes: map[string]int64{"OK": 999}}
	assert.Equal(t, "jitbench: load 10s of 32s  99.9/s  in flight 1  OK 999", load.LogLine(g, s, 99.9, 0))
	s.WarmingUp, s.Elapsed = true, time.Second
	assert.Equal(t, "jitbench: warm-up 1s of 32s  99.9/s  in flight 1  OK 999", load.LogLine(g, s, 99.9, 0))
}
