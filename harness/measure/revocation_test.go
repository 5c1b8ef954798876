package measure_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/measure"
)

func TestRevocation(t *testing.T) {
	const interval = 20 * time.Millisecond
	for _, tc := range []struct {
		name  string
		delay time.Duration
		load  int
	}{
		{name: "immediate", delay: 0},
		{name: "150ms", delay: 150 * time.Millisecond},
		{name: "2.5s under load", delay: 2500 * time.Millisecond, load: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(start)
			drive(t, clock, interval)
			f := newFake(clock)
			f.canRevoke, f.revokeDelay = true, tc.delay
			r, err := measure.Revocation{Clock: clock, Interval: interval, Load: tc.load}.Measure(t.Context(), f)
			require.NoError(t, err)
			assert.Equal(t, measure.NameRevocation, r.Name)
			assert.Equal(t, measure.Measured, r.Verdict)
			require.Len(t, r.Samples, measure.DefaultRevocationSamples)
			for _, s := range r.Samples {
				// A try at or after the delay is refused; the tries are interval apart.
				assert.GreaterOrEqual(t, s, tc.delay)
				assert.Less(t, s, tc.delay+interval)
			}
			for _, name := range []string{measure.FigureRevocationP50, measure.FigureRevocationP99, measure.FigureRevocationMax} {
				fg := figure(t, r, name)
				within(t, tc.delay, fg.Value, interval, name)
				assert.False(t, fg.AboveBound)
				assert.Equal(t, interval, fg.Resolution)
				assert.Equal(t, measure.Measured, fg.Verdict)
				assert.Contains(t, fg.Comparison, "a revoked grant is refused")
			}
			load := max(tc.load, 1)
			tries := ceilDiv(tc.delay, interval) + 1 // the tries before the delay and the one after
			assert.Equal(t, measure.DefaultRevocationSamples*(1+load*tries), r.Probes, "a control and the tries of each sample")
			assert.Equal(t, f.callCount(), r.Probes)
		})
	}
}

func TestRevocationPercentiles(t *testing.T) {
	// The delay grows by 100 ms a sample: the median is the third, p99 and max the last.
	clock := clockwork.NewFakeClockAt(start)
	drive(t, clock, 10*time.Millisecond)
	f := newFake(clock)
	f.canRevoke = true
	growing := &growingDelay{fake: f, step: 100 * time.Millisecond}
	r, err := measure.Revocation{Clock: clock, Interval: 10 * time.Millisecond}.Measure(t.Context(), growing)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond}, r.Samples)
	assert.Equal(t, 200*time.Millisecond, figure(t, r, measure.FigureRevocationP50).Value)
	assert.Equal(t, 400*time.Millisecond, figure(t, r, measure.FigureRevocationP99).Value)
	assert.Equal(t, 400*time.Millisecond, figure(t, r, measure.FigureRevocationMax).Value)
}

// growingDelay is a fake whose revocations each take step longer than the one before.
type growingDelay struct {
	*fake
	step time.Duration
}

func (g *growingDelay) Revoke(ctx context.Context, id string) error {
	g.mu.Lock()
	n := len(g.revoked)
	g.revokeDelay = time.Duration(n) * g.step
	g.mu.Unlock()
	return g.fake.Revoke(ctx, id)
}

func TestRevocationStillAccepted(t *testing.T) {
	clock := clockwork.NewFakeClockAt(start)
	drive(t, clock, 100*time.Millisecond)
	f := newFake(clock)
	f.canRevoke, f.revokeDelay = true, time.Hour
	r, err := measure.Revocation{Clock: clock, Interval: 100 * time.Millisecond, Bound: 2 * time.Second, Samples: 3}.Measure(t.Context(), f)
	require.NoError(t, err)
	for _, name := range []string{measure.FigureRevocationP50, measure.FigureRevocationMax} {
		fg := figure(t, r, name)
		assert.True(t, fg.AboveBound, name)
		assert.Equal(t, 2*time.Second, fg.Value)
		assert.Contains(t, fg.Comparison, "still accepted after 2s")
	}
	assert.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}, r.Samples)
}

func TestRevocationCannotMeasure(t *testing.T) {
	clock := clockwork.NewFakeClockAt(start)
	f := newFake(clock) // no revoke hook
	r, err := measure.Revocation{Clock: clock}.Measure(t.Context(), f)
	require.NoError(t, err, "a missing hook is a result, not an error")
	assert.Equal(t, measure.CannotMeasure, r.Verdict)
	assert.Contains(t, r.Why, "the config has no revoke hook")
	assert.Empty(t, r.Figures)
	assert.Equal(t, 1, r.Probes)
}

func TestRevocationErrors(t *testing.T) {
	clock := clockwork.NewFakeClockAt(start)
	f := newFake(clock)
	f.canRevoke, f.answer = true, codes.Unauthenticated
	_, err := measure.Revocation{Clock: clock}.Measure(t.Context(), f)
	require.ErrorIs(t, err, measure.ErrControlRefused)

	f.answer = codes.OK
	f.declared.MaxGrantLifetime = 20 * time.Second
	_, err = measure.Revocation{Clock: clock, Bound: 30 * time.Second}.Measure(t.Context(), f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not shorter than the grant's lifetime", "an expiring grant must not pass for a revoked one")
}

// TestRevocationShortGrants: against a service whose grants live 20 s, the
// default bound shrinks to three quarters of that, so a measurement still
// runs and an expiring grant still cannot pass for a revoked one.
func TestRevocationShortGrants(t *testing.T) {
	const interval = 20 * time.Millisecond
	clock := clockwork.NewFakeClockAt(start)
	drive(t, clock, interval)
	f := newFake(clock)
	f.canRevoke, f.revokeDelay = true, 100*time.Millisecond
	f.declared.MaxGrantLifetime = 20 * time.Second
	r, err := measure.Revocation{Clock: clock, Interval: interval}.Measure(t.Context(), f)
	require.NoError(t, err)
	p50 := figure(t, r, measure.FigureRevocationP50)
	within(t, 100*time.Millisecond, p50.Value, interval, "p50")
	assert.Equal(t, 15*time.Second, p50.Bound)
}
