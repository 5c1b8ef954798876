package measure_test

import (
	"math"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/measure"
)

// figure returns r's figure name, failing the test without it.
func figure(t *testing.T, r measure.Result, name string) measure.Figure {
	t.Helper()
	f, ok := r.Figure(name)
	require.True(t, ok, "result %s has figure %s: %+v", r.Name, name, r.Figures)
	return f
}

// within asserts got is want within tol.
func within(t *testing.T, want, got, tol time.Duration, what string) {
	t.Helper()
	assert.LessOrEqual(t, (got - want).Abs(), tol, "%s: want %s ±%s, got %s", what, want, tol, got)
}

// logProbes is the most probes a window search may make: a control, and
// per side one probe at the bound and a bisection of the range.
func logProbes(rangeSecs float64, sides int) int {
	return 1 + sides*(1+int(math.Ceil(math.Log2(rangeSecs))))
}

func TestLeewayFindsLeewayAndOffset(t *testing.T) {
	for _, tc := range []struct {
		name            string
		leeway, offset  time.Duration
		declared        time.Duration
		latency         time.Duration
		verdict         measure.Verdict
		offsetDiffers   bool
		comparisonWords string
	}{
		{name: "in step", leeway: 30 * time.Second, declared: 30 * time.Second, verdict: measure.Match, comparisonWords: "as declared"},
		{name: "target ahead", leeway: 30 * time.Second, offset: 7 * time.Second, declared: 30 * time.Second,
			verdict: measure.Differs, offsetDiffers: true, comparisonWords: "as declared"},
		{name: "target behind", leeway: 10 * time.Second, offset: -4 * time.Second, declared: 10 * time.Second,
			verdict: measure.Differs, offsetDiffers: true, comparisonWords: "as declared"},
		{name: "ahead by more than the leeway", leeway: time.Minute, offset: 90 * time.Second, declared: time.Minute,
			verdict: measure.Differs, offsetDiffers: true, comparisonWords: "as declared"},
		{name: "sub-second offset, slow calls", leeway: 5 * time.Second, offset: 400 * time.Millisecond, latency: 130 * time.Millisecond,
			declared: 5 * time.Second, verdict: measure.Match, comparisonWords: "as declared"},
		{name: "no leeway", leeway: 0, declared: 30 * time.Second, verdict: measure.Differs,
			comparisonWords: "less skew than declared"},
		{name: "more than declared", leeway: time.Minute, declared: 30 * time.Second, verdict: measure.Differs,
			comparisonWords: "tolerates 30s more skew than declared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(start)
			f := newFake(clock)
			f.leeway, f.offset, f.latency = tc.leeway, tc.offset, tc.latency
			f.declared = measure.Declared{Leeway: tc.declared}
			r, err := measure.Leeway{Clock: clock}.Measure(t.Context(), f)
			require.NoError(t, err)
			assert.Equal(t, measure.NameLeeway, r.Name)

			lw := figure(t, r, measure.FigureLeeway)
			within(t, tc.leeway, lw.Value, time.Second, "leeway")
			assert.Equal(t, time.Second, lw.Resolution)
			assert.Equal(t, tc.declared, lw.Declared)
			assert.Contains(t, lw.Comparison, tc.comparisonWords)
			off := figure(t, r, measure.FigureClockOffset)
			within(t, tc.offset, off.Value, time.Second+tc.latency, "clock offset")
			assert.Equal(t, tc.offsetDiffers, off.Verdict == measure.Differs, off.Comparison)
			within(t, tc.leeway-tc.offset, figure(t, r, measure.FigureExpTolerance).Value, time.Second+tc.latency, "exp tolerance")
			within(t, tc.leeway+tc.offset, figure(t, r, measure.FigureNbfTolerance).Value, time.Second+tc.latency, "nbf tolerance")
			assert.Equal(t, tc.verdict, r.Verdict)
			t.Logf("%d probes; %s; %s", r.Probes, lw.Comparison, off.Comparison)

			assert.Equal(t, f.callCount(), r.Probes, "every call is counted")
			assert.LessOrEqual(t, r.Probes, logProbes((measure.DefaultWindowBound+5*time.Minute).Seconds(), 2), "probes are logarithmic in the bound")
		})
	}
}

func TestLeewayOffsetWords(t *testing.T) {
	for _, tc := range []struct {
		offset time.Duration
		words  string
	}{
		{20 * time.Second, "ahead of ours"},
		{-20 * time.Second, "behind ours"},
		{0, "agrees with ours"},
	} {
		clock := clockwork.NewFakeClockAt(start)
		f := newFake(clock)
		f.offset = tc.offset
		r, err := measure.Leeway{Clock: clock}.Measure(t.Context(), f)
		require.NoError(t, err)
		assert.Contains(t, figure(t, r, measure.FigureClockOffset).Comparison, tc.words, "offset %s", tc.offset)
	}
}

func TestLeewayProbesGrowWithTheBoundLogarithmically(t *testing.T) {
	probes := map[time.Duration]int{}
	for _, bound := range []time.Duration{time.Hour, 24 * time.Hour, 365 * 24 * time.Hour} {
		clock := clockwork.NewFakeClockAt(start)
		r, err := measure.Leeway{Clock: clock, Bound: bound}.Measure(t.Context(), newFake(clock))
		require.NoError(t, err)
		within(t, 30*time.Second, figure(t, r, measure.FigureLeeway).Value, time.Second, "leeway")
		assert.LessOrEqual(t, r.Probes, logProbes((bound+5*time.Minute).Seconds(), 2), "bound %s", bound)
		probes[bound] = r.Probes
	}
	// A year is 8760 hours: a linear search would make thousands of times more probes.
	assert.Less(t, probes[365*24*time.Hour]-probes[time.Hour], 30, "probes by bound: %v", probes)
}

func TestLeewayNeverFlips(t *testing.T) {
	t.Run("exp never checked", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(start)
		f := newFake(clock)
		f.noExp = true
		f.declared.Leeway = 30 * time.Second
		r, err := measure.Leeway{Clock: clock, Bound: time.Hour}.Measure(t.Context(), f)
		require.NoError(t, err)
		exp := figure(t, r, measure.FigureExpTolerance)
		assert.True(t, exp.AboveBound)
		assert.Equal(t, time.Hour, exp.Value)
		assert.Contains(t, exp.Comparison, "more than 1h0m0s")
		lw := figure(t, r, measure.FigureLeeway)
		assert.True(t, lw.AboveBound)
		assert.Equal(t, measure.Differs, lw.Verdict)
		assert.Contains(t, lw.Comparison, "measured more than 1h0m0s")
		assert.Equal(t, measure.CannotMeasure, figure(t, r, measure.FigureClockOffset).Verdict)
		within(t, 30*time.Second, figure(t, r, measure.FigureNbfTolerance).Value, time.Second, "the nbf side still measured")
		assert.Equal(t, measure.Differs, r.Verdict)
	})
	t.Run("nbf and iat never checked", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(start)
		f := newFake(clock)
		f.noNbf = true
		r, err := measure.Leeway{Clock: clock, Bound: time.Hour}.Measure(t.Context(), f)
		require.NoError(t, err)
		assert.True(t, figure(t, r, measure.FigureNbfTolerance).AboveBound)
		lw := figure(t, r, measure.FigureLeeway)
		assert.Equal(t, measure.CannotMeasure, lw.Verdict)
		assert.Contains(t, lw.Why, "checks neither nbf nor iat")
		assert.Equal(t, measure.CannotMeasure, figure(t, r, measure.FigureClockOffset).Verdict)
		within(t, 30*time.Second, figure(t, r, measure.FigureExpTolerance).Value, time.Second, "the exp side still measured")
	})
}

func TestLeewayErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fake   func(*fake)
		bound  time.Duration
		target error
		words  string
	}{
		{name: "control refused", fake: func(f *fake) { f.answer = codes.Unauthenticated },
			target: measure.ErrControlRefused, words: "the valid control call was refused: UNAUTHENTICATED"},
		{name: "target behind by more than its leeway", fake: func(f *fake) { f.offset = -time.Minute },
			target: measure.ErrControlRefused, words: "not valid yet"},
		{name: "unavailable", fake: func(f *fake) { f.answer = codes.Unavailable },
			target: measure.ErrInconclusive, words: "UNAVAILABLE"},
		{name: "bound under a second", fake: func(*fake) {}, bound: time.Millisecond, words: "under a second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(start)
			f := newFake(clock)
			tc.fake(f)
			_, err := measure.Leeway{Clock: clock, Bound: tc.bound}.Measure(t.Context(), f)
			require.Error(t, err)
			if tc.target != nil {
				assert.ErrorIs(t, err, tc.target)
			}
			assert.Contains(t, err.Error(), tc.words)
			assert.LessOrEqual(t, f.callCount(), 1, "nothing is searched without a good control")
		})
	}
}
