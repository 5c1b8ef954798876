package fakes

import (
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestSkewClockNow(t *testing.T) {
	tests := []struct {
		name    string
		offset  time.Duration
		drift   float64
		elapsed time.Duration
		want    time.Duration // skew seen after elapsed
	}{
		{name: "no skew", elapsed: time.Minute},
		{name: "ahead", offset: 2 * time.Minute, elapsed: time.Hour, want: 2 * time.Minute},
		{name: "behind", offset: -90 * time.Second, want: -90 * time.Second},
		{name: "drift gains 1 ms/s", drift: 0.001, elapsed: 100 * time.Second, want: 100 * time.Millisecond},
		{name: "drift loses", drift: -0.01, elapsed: 10 * time.Second, want: -100 * time.Millisecond},
		{name: "offset and drift", offset: time.Second, drift: 0.5, elapsed: 4 * time.Second, want: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := clockwork.NewFakeClockAt(t0)
			c := NewSkewClock(base)
			restore := c.Set(tt.offset, tt.drift)
			base.Advance(tt.elapsed)
			assert.Equal(t, tt.want, c.Offset())
			assert.Equal(t, t0.Add(tt.elapsed).Add(tt.want), c.Now())
			assert.Equal(t, tt.elapsed+tt.want, c.Since(t0))
			assert.Equal(t, -(tt.elapsed + tt.want), c.Until(t0))
			restore()
			assert.Equal(t, base.Now(), c.Now(), "restore removes the skew")
		})
	}
}

func TestSkewClockLayersRestoreInAnyOrder(t *testing.T) {
	base := clockwork.NewFakeClockAt(t0)
	c := NewSkewClock(base)
	undoA := c.Set(time.Minute, 0)
	undoB := c.Set(10*time.Second, 0.001)
	base.Advance(time.Second)
	assert.Equal(t, time.Minute+10*time.Second+time.Millisecond, c.Offset())

	undoA() // A's window closes first: B stays
	assert.Equal(t, 10*time.Second+time.Millisecond, c.Offset())
	undoA() // idempotent
	assert.Equal(t, 10*time.Second+time.Millisecond, c.Offset())
	undoB()
	assert.Zero(t, c.Offset())
}

func TestSkewClockTimersAreNotSkewed(t *testing.T) {
	base := clockwork.NewFakeClockAt(t0)
	c := NewSkewClock(base)
	defer c.Set(time.Hour, 1)()

	timer := c.NewTimer(time.Second)
	after := c.After(time.Second)
	fired := make(chan struct{})
	c.AfterFunc(time.Second, func() { close(fired) })
	ticker := c.NewTicker(time.Second)
	defer ticker.Stop()

	require.NoError(t, base.BlockUntilContext(t.Context(), 4))
	base.Advance(999 * time.Millisecond)
	select {
	case <-timer.Chan():
		t.Fatal("a skewed clock must not shorten a timer")
	default:
	}
	base.Advance(time.Millisecond)
	<-timer.Chan()
	<-after
	<-fired
	<-ticker.Chan()

	slept := make(chan struct{})
	go func() { c.Sleep(time.Second); close(slept) }()
	require.NoError(t, base.BlockUntilContext(t.Context(), 2)) // the sleeper and the ticker
	base.Advance(time.Second)
	<-slept
	assert.Same(t, base, c.Base())
}

func TestSkewClockConcurrent(t *testing.T) {
	base := clockwork.NewFakeClockAt(t0)
	c := NewSkewClock(base)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				undo := c.Set(time.Second, 0.001)
				_ = c.Now()
				_ = c.Offset()
				undo()
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			base.Advance(time.Millisecond)
		}
	})
	wg.Wait()
	assert.Zero(t, c.Offset())
}

func TestNewSkewClockNilBaseIsReal(t *testing.T) {
	c := NewSkewClock(nil)
	assert.WithinDuration(t, time.Now(), c.Now(), time.Minute)
}
