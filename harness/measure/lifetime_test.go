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

func TestMaxLifetime(t *testing.T) {
	for _, tc := range []struct {
		name              string
		maxLife, declared time.Duration
		offset            time.Duration
		verdict           measure.Verdict
		words             string
	}{
		{name: "as declared", maxLife: time.Hour, declared: time.Hour, verdict: measure.Match, words: "as declared"},
		{name: "short cap", maxLife: 10 * time.Minute, declared: 10 * time.Minute, verdict: measure.Match, words: "as declared"},
		{name: "odd seconds, clock ahead", maxLife: 30*time.Minute + 7*time.Second, declared: 30 * time.Minute, offset: 20 * time.Second,
			verdict: measure.Differs, words: "accepts grants 7s longer than declared"},
		{name: "shorter than declared", maxLife: 4 * time.Hour, declared: 8 * time.Hour, verdict: measure.Differs,
			words: "caps grants 4h0m0s below the declared lifetime"},
		{name: "not declared", maxLife: 2 * time.Hour, verdict: measure.Measured, words: "the config declares none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(start)
			f := newFake(clock)
			f.maxLife, f.offset = tc.maxLife, tc.offset
			f.declared.MaxGrantLifetime = tc.declared
			r, err := measure.MaxLifetime{Clock: clock}.Measure(t.Context(), f)
			require.NoError(t, err)
			assert.Equal(t, measure.NameMaxLifetime, r.Name)
			lf := figure(t, r, measure.FigureMaxLifetime)
			within(t, tc.maxLife, lf.Value, time.Second, "max lifetime")
			assert.False(t, lf.AboveBound)
			assert.Equal(t, tc.declared, lf.Declared)
			assert.Equal(t, tc.verdict, lf.Verdict)
			assert.Equal(t, tc.verdict, r.Verdict)
			assert.Contains(t, lf.Comparison, tc.words)
			assert.Equal(t, f.callCount(), r.Probes)
			assert.LessOrEqual(t, r.Probes, logProbes(measure.DefaultLifetimeBound.Seconds(), 1), "probes are logarithmic in the bound")
			t.Logf("%d probes; %s", r.Probes, lf.Comparison)
		})
	}
}

func TestMaxLifetimeNoCap(t *testing.T) {
	clock := clockwork.NewFakeClockAt(start)
	f := newFake(clock)
	f.declared.MaxGrantLifetime = time.Hour
	r, err := measure.MaxLifetime{Clock: clock, Bound: 48 * time.Hour}.Measure(t.Context(), f)
	require.NoError(t, err)
	lf := figure(t, r, measure.FigureMaxLifetime)
	assert.True(t, lf.AboveBound)
	assert.Equal(t, 48*time.Hour, lf.Value)
	assert.Equal(t, measure.Differs, lf.Verdict)
	assert.Contains(t, lf.Comparison, "measured more than 48h0m0s (the search bound)")
	assert.Equal(t, 2, r.Probes, "the control and the bound: nothing to bisect")
}

func TestMaxLifetimeErrors(t *testing.T) {
	clock := clockwork.NewFakeClockAt(start)
	f := newFake(clock)
	f.answer = codes.PermissionDenied
	_, err := measure.MaxLifetime{Clock: clock}.Measure(t.Context(), f)
	require.ErrorIs(t, err, measure.ErrControlRefused)
	assert.Contains(t, err.Error(), "the valid control call was refused: PERMISSION_DENIED")

	f.answer = codes.OK
	f.declared.MaxGrantLifetime = time.Hour
	_, err = measure.MaxLifetime{Clock: clock, Bound: time.Minute}.Measure(t.Context(), f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the search bound 1m0s is not past the control grant's lifetime 5m0s")
}
