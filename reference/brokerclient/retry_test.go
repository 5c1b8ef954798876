package brokerclient

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoffCeilingAndJitter(t *testing.T) {
	b := newBackoff(Retry{Source: rand.NewPCG(7, 7)}, clockwork.NewFakeClock())
	cases := []struct {
		failures int
		ceiling  time.Duration
	}{
		{1, 50 * time.Millisecond},
		{2, 100 * time.Millisecond},
		{3, 200 * time.Millisecond},
		{5, 800 * time.Millisecond},
		{6, 1600 * time.Millisecond},
		{7, 2 * time.Second},
		{1000, 2 * time.Second},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.ceiling, b.ceiling(tc.failures), "failures=%d", tc.failures)
		for range 100 {
			d := b.delay(tc.failures)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, tc.ceiling)
		}
	}
	assert.True(t, b.exhausted(DefaultMaxAttempts))
	assert.False(t, b.exhausted(DefaultMaxAttempts-1))
	assert.False(t, newBackoff(Retry{MaxAttempts: -1}, clockwork.NewFakeClock()).exhausted(1_000_000))
}

func TestBackoffIsRepeatableWithASeed(t *testing.T) {
	a := newBackoff(Retry{Source: rand.NewPCG(3, 4)}, clockwork.NewFakeClock())
	b := newBackoff(Retry{Source: rand.NewPCG(3, 4)}, clockwork.NewFakeClock())
	var spread bool
	for i := 1; i <= 20; i++ {
		da, db := a.delay(i), b.delay(i)
		assert.Equal(t, da, db)
		spread = spread || da != a.ceiling(i)
	}
	assert.True(t, spread, "full jitter: waits are not all the cap")
}

func TestDefaultSleepWaitsOnTheClock(t *testing.T) {
	clock := clockwork.NewFakeClock()
	b := newBackoff(Retry{}, clock)
	done := make(chan error, 1)
	go func() { done <- b.sleep(context.Background(), time.Second) }()
	require.NoError(t, clock.BlockUntilContext(withTimeout(t, 5*time.Second), 1))
	clock.Advance(time.Second)
	assert.NoError(t, <-done)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, b.sleep(ctx, time.Hour), context.Canceled)
}

func TestFits(t *testing.T) {
	assert.True(t, fits(context.Background(), time.Hour), "no deadline")
	ctx := withTimeout(t, time.Minute)
	assert.True(t, fits(ctx, time.Second))
	assert.False(t, fits(ctx, time.Hour))
}
