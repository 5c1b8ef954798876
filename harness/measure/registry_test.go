package measure_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/measure"
)

func TestRegistry(t *testing.T) {
	assert.Equal(t, []string{"leeway", "max-lifetime", "revocation", "key-rotation"}, measure.Names())
	for _, in := range measure.Infos() {
		m, err := measure.Lookup(in.Name)
		require.NoError(t, err, in.Name)
		assert.Equal(t, in.Measurer, m, in.Name)
		assert.NotEmpty(t, in.Doc, in.Name)
		assert.NotContains(t, in.Doc, "\n", "%s is documented in one line", in.Name)
		assert.NotEmpty(t, append(in.Needs, in.Compares...), "%s lists the config it needs or compares with", in.Name)
	}
	_, err := measure.Lookup("latency")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown measurement "latency" (known: leeway, max-lifetime, revocation, key-rotation)`)
}

func TestRegistryMeasurersWork(t *testing.T) {
	// The registered measurers with their defaults and a real clock, against
	// a fake with no hooks: the two searches give figures, the two timings
	// say they cannot measure.
	f := newFake(clockwork.NewFakeClockAt(time.Now()))
	f.maxLife = time.Hour
	f.declared = measure.Declared{Leeway: 30 * time.Second, MaxGrantLifetime: time.Hour}
	for name, want := range map[string]measure.Verdict{
		measure.NameLeeway: measure.Match, measure.NameMaxLifetime: measure.Match,
		measure.NameRevocation: measure.CannotMeasure, measure.NameKeyRotation: measure.CannotMeasure,
	} {
		m, err := measure.Lookup(name)
		require.NoError(t, err)
		r, err := m.Measure(t.Context(), f)
		require.NoError(t, err, name)
		assert.Equal(t, name, r.Name)
		if name == measure.NameLeeway {
			// The fake's clock stands still while ours runs: the leeway alone is compared.
			lw := figure(t, r, measure.FigureLeeway)
			assert.Equal(t, want, lw.Verdict, lw.Comparison)
			continue
		}
		assert.Equal(t, want, r.Verdict, "%s: %+v", name, r)
	}
}

func TestMeasurerFunc(t *testing.T) {
	var got measure.Target
	m := measure.MeasurerFunc(func(_ context.Context, tg measure.Target) (measure.Result, error) {
		got = tg
		return measure.Result{Name: "custom", Verdict: measure.Measured}, nil
	})
	f := newFake(clockwork.NewFakeClock())
	r, err := m.Measure(t.Context(), f)
	require.NoError(t, err)
	assert.Equal(t, "custom", r.Name)
	assert.Same(t, f, got)
}
