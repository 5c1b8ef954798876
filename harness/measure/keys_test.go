package measure_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/measure"
)

func TestKeyRotation(t *testing.T) {
	const interval = 50 * time.Millisecond
	for _, delay := range []time.Duration{0, 300 * time.Millisecond, 2 * time.Second} {
		t.Run(delay.String(), func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(start)
			drive(t, clock, interval)
			f := newFake(clock)
			f.keys, f.keyDelay = newFakeKeys(clock), delay
			r, err := measure.KeyRotation{Clock: clock, Interval: interval}.Measure(t.Context(), f)
			require.NoError(t, err)
			assert.Equal(t, measure.NameKeyRotation, r.Name)
			assert.Equal(t, measure.Measured, r.Verdict)
			for _, name := range []string{measure.FigureKeyRotation, measure.FigureKeyRemoval} {
				fg := figure(t, r, name)
				assert.GreaterOrEqual(t, fg.Value, delay, name)
				assert.Less(t, fg.Value, delay+interval, name)
				assert.False(t, fg.AboveBound, name)
				assert.Equal(t, interval, fg.Resolution)
			}
			tries := ceilDiv(delay, interval) + 1 // the tries before the delay and the one after
			assert.Equal(t, 1+2*tries, r.Probes, "a control, then the tries of each phase")
			assert.Equal(t, f.callCount(), r.Probes)
		})
	}
}

func TestKeyRotationCannotMeasure(t *testing.T) {
	t.Run("no key source", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(start)
		r, err := measure.KeyRotation{Clock: clock}.Measure(t.Context(), newFake(clock))
		require.NoError(t, err)
		assert.Equal(t, measure.CannotMeasure, r.Verdict)
		assert.Contains(t, r.Why, "no key source")
		assert.Zero(t, r.Probes)
	})
	t.Run("a key source that cannot retire", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(start)
		drive(t, clock, 10*time.Millisecond)
		f := newFake(clock)
		f.keys, f.keyDelay = freshOnly{newFakeKeys(clock)}, 40*time.Millisecond
		r, err := measure.KeyRotation{Clock: clock, Interval: 10 * time.Millisecond}.Measure(t.Context(), f)
		require.NoError(t, err)
		assert.Equal(t, 40*time.Millisecond, figure(t, r, measure.FigureKeyRotation).Value)
		removal := figure(t, r, measure.FigureKeyRemoval)
		assert.Equal(t, measure.CannotMeasure, removal.Verdict)
		assert.Contains(t, removal.Why, "cannot retire keys")
		assert.Equal(t, measure.Measured, r.Verdict, "the rotation was measured")
	})
	t.Run("a new key never honoured", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(start)
		drive(t, clock, 100*time.Millisecond)
		f := newFake(clock)
		keys := newFakeKeys(clock)
		f.keys, f.keyDelay = keys, time.Hour
		r, err := measure.KeyRotation{Clock: clock, Interval: 100 * time.Millisecond, Bound: 3 * time.Second}.Measure(t.Context(), f)
		require.NoError(t, err)
		rot := figure(t, r, measure.FigureKeyRotation)
		assert.True(t, rot.AboveBound)
		assert.Contains(t, rot.Comparison, "still refused 3s after")
		assert.Equal(t, measure.CannotMeasure, figure(t, r, measure.FigureKeyRemoval).Verdict)
		assert.Len(t, keys.retired, 1, "the fresh key is retired all the same")
	})
	t.Run("control refused", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(start)
		f := newFake(clock)
		f.keys, f.answer = newFakeKeys(clock), codes.Unauthenticated
		_, err := measure.KeyRotation{Clock: clock}.Measure(t.Context(), f)
		require.ErrorIs(t, err, measure.ErrControlRefused)
	})
}
