package fakes

import (
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// SkewClock is a clockwork.Clock whose wall time is its base clock's plus an
// offset and a drift: what one machine of a system sees when its NTP is off.
//
// Only the wall time is skewed. Timers, tickers, After and Sleep delegate to
// the base clock unchanged, because a wrong wall clock does not make an
// interval longer: a 5 s timeout on a machine whose clock is 2 min ahead
// still fires after 5 s. Drift does change the rate, but at the 1e-3 scale
// of a bad crystal that is noise for a timer, and skewing timers would make
// a fake base clock advance timers by amounts a test cannot predict.
//
// Skews compose: every Set adds a layer and its restore removes exactly that
// layer, so two overlapping clock-skew faults undo cleanly whatever order
// their windows close in. Each layer counts the reads of the skewed time
// (Now, Since, Until) made while it was in force. It is safe for concurrent use.
type SkewClock struct {
	base clockwork.Clock

	mu     sync.RWMutex
	layers []*skewLayer
}

// skewLayer is one Set: its offset, its drift and the base instant it started drifting from.
type skewLayer struct {
	offset time.Duration
	drift  float64
	since  time.Time
	*Layer
}

var _ clockwork.Clock = (*SkewClock)(nil)

// NewSkewClock returns a clock that reads base's time, unskewed until Set; a nil base means the real clock.
func NewSkewClock(base clockwork.Clock) *SkewClock {
	if base == nil {
		base = clockwork.NewRealClock()
	}
	return &SkewClock{base: base}
}

// Base returns the unskewed clock underneath.
func (c *SkewClock) Base() clockwork.Clock { return c.base }

// Set skews the clock by offset plus drift seconds gained per second from now
// on (0.001 gains 1 ms every second; negative values lose time), on top of
// any skew already set. The returned restore removes this skew only; calling
// it again does nothing.
func (c *SkewClock) Set(offset time.Duration, drift float64) (restore func()) {
	return c.Add(offset, drift).Remove
}

// Add is Set returning the skew's layer, which also counts the reads of
// the skewed time while it is in force.
func (c *SkewClock) Add(offset time.Duration, drift float64) *Layer {
	l := &skewLayer{offset: offset, drift: drift, since: c.base.Now()}
	l.Layer = newLayer(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.Index(c.layers, l); i >= 0 {
			c.layers = slices.Delete(c.layers, i, i+1)
		}
	})
	c.mu.Lock()
	c.layers = append(c.layers, l)
	c.mu.Unlock()
	return l.Layer
}

// Offset returns how far this clock is from its base right now, drift
// included. It is not a read of the skewed time: no layer counts it.
func (c *SkewClock) Offset() time.Duration { return c.offsetAt(c.base.Now(), false) }

// offsetAt sums the layers' skews at now; read counts it on each layer.
func (c *SkewClock) offsetAt(now time.Time, read bool) time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var total time.Duration
	for _, l := range c.layers {
		if read {
			l.meet(1)
		}
		total += l.offset
		if l.drift != 0 {
			total += time.Duration(l.drift * float64(now.Sub(l.since)))
		}
	}
	return total
}

// Now returns the base time plus the current skew.
func (c *SkewClock) Now() time.Time {
	now := c.base.Now()
	return now.Add(c.offsetAt(now, true))
}

// Since measures from the skewed now, as a skewed machine would.
func (c *SkewClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Until measures to t from the skewed now, as a skewed machine would.
func (c *SkewClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// After delegates to the base clock: intervals are not skewed.
func (c *SkewClock) After(d time.Duration) <-chan time.Time { return c.base.After(d) }

// Sleep delegates to the base clock: intervals are not skewed.
func (c *SkewClock) Sleep(d time.Duration) { c.base.Sleep(d) }

// NewTicker delegates to the base clock: intervals are not skewed.
func (c *SkewClock) NewTicker(d time.Duration) clockwork.Ticker { return c.base.NewTicker(d) }

// NewTimer delegates to the base clock: intervals are not skewed.
func (c *SkewClock) NewTimer(d time.Duration) clockwork.Timer { return c.base.NewTimer(d) }

// AfterFunc delegates to the base clock: intervals are not skewed.
func (c *SkewClock) AfterFunc(d time.Duration, f func()) clockwork.Timer {
	return c.base.AfterFunc(d, f)
}
