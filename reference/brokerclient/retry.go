package brokerclient

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults of Retry, applied to its zero fields.
const (
	DefaultInitialBackoff = 50 * time.Millisecond
	DefaultMaxBackoff     = 2 * time.Second
	DefaultMultiplier     = 2.0
	DefaultMaxAttempts    = 6
)

// SleepFunc waits d or until ctx ends, returning ctx's error in the latter case.
type SleepFunc func(ctx context.Context, d time.Duration) error

// Retry is how the client backs off between attempts to reach the broker:
// exponential growth with full jitter (each wait is uniform in [0, cap]), so
// clients that lost the broker together do not come back in lockstep.
type Retry struct {
	// Initial is the cap of the first wait; zero means 50 ms.
	Initial time.Duration
	// Max bounds every wait's cap; zero means 2 s.
	Max time.Duration
	// Multiplier grows the cap after each failed attempt; zero means 2.
	Multiplier float64
	// MaxAttempts bounds the attempts of one Grant; zero means DefaultMaxAttempts, negative means until the call's deadline.
	MaxAttempts int
	// Source draws the jitter; nil means a randomly seeded PCG, so pass rand.NewPCG(a, b) for repeatable waits.
	Source rand.Source
	// Sleep waits between attempts; nil waits on the client's clock, and tests inject one that records and returns.
	Sleep SleepFunc
}

// backoff is a Retry with its defaults resolved, safe for concurrent use.
type backoff struct {
	initial, max time.Duration
	mult         float64
	maxAttempts  int // < 0: no bound but the deadline
	sleep        SleepFunc

	mu  sync.Mutex // *rand.Rand is not safe for concurrent use
	rnd *rand.Rand
}

func newBackoff(r Retry, clock clockwork.Clock) *backoff {
	b := &backoff{initial: r.Initial, max: r.Max, mult: r.Multiplier, maxAttempts: r.MaxAttempts, sleep: r.Sleep}
	if b.initial <= 0 {
		b.initial = DefaultInitialBackoff
	}
	if b.max <= 0 {
		b.max = DefaultMaxBackoff
	}
	if b.mult < 1 {
		b.mult = DefaultMultiplier
	}
	if b.maxAttempts == 0 {
		b.maxAttempts = DefaultMaxAttempts
	}
	src := r.Source
	if src == nil {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	b.rnd = rand.New(src)
	if b.sleep == nil {
		b.sleep = clockSleep(clock)
	}
	return b
}

// ceiling is the cap of the wait after the given number of consecutive failures.
func (b *backoff) ceiling(failures int) time.Duration {
	c := float64(b.initial) * math.Pow(b.mult, float64(max(failures-1, 0)))
	if c > float64(b.max) || math.IsInf(c, 0) {
		return b.max
	}
	return time.Duration(c)
}

// delay draws the wait after the given number of consecutive failures.
func (b *backoff) delay(failures int) time.Duration {
	c := b.ceiling(failures)
	if c <= 0 {
		return 0
	}
	b.mu.Lock()
	d := time.Duration(b.rnd.Int64N(int64(c) + 1))
	b.mu.Unlock()
	return d
}

// exhausted reports whether no attempt may follow the given number of failures.
func (b *backoff) exhausted(failures int) bool {
	return b.maxAttempts > 0 && failures >= b.maxAttempts
}

// clockSleep waits on clock, so a fake clock drives backoff in tests.
func clockSleep(clock clockwork.Clock) SleepFunc {
	return func(ctx context.Context, d time.Duration) error {
		if d <= 0 {
			return ctx.Err()
		}
		t := clock.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.Chan():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fits reports whether waiting d still leaves time before ctx's deadline:
// waiting past it would only turn a clear "broker unavailable" into a
// deadline error with less information.
func fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}
