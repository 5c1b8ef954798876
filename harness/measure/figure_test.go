package measure_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/measure"
)

func TestResultJSON(t *testing.T) {
	clock := clockwork.NewFakeClockAt(start)
	f := newFake(clock)
	f.leeway = time.Minute
	f.declared.Leeway = 30 * time.Second
	r, err := measure.Leeway{Clock: clock}.Measure(t.Context(), f)
	require.NoError(t, err)
	raw, err := json.Marshal(r)
	require.NoError(t, err)

	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "leeway", doc["name"])
	assert.Equal(t, "differs", doc["verdict"])
	assert.EqualValues(t, r.Probes, doc["probes"])
	figs, ok := doc["figures"].([]any)
	require.True(t, ok)
	var lw map[string]any
	for _, fg := range figs {
		if m := fg.(map[string]any); m["name"] == measure.FigureLeeway {
			lw = m
		}
	}
	require.NotNil(t, lw)
	for _, key := range []string{"value", "bound", "resolution", "declared", "comparison", "verdict"} {
		assert.Contains(t, lw, key)
	}
	assert.EqualValues(t, time.Minute, lw["value"], "durations are nanoseconds")
	assert.Equal(t, "declared leeway 30s, measured 1m0s: the service tolerates 30s more skew than declared", lw["comparison"])

	var back measure.Result
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, r, back)
}

func TestDeclaredIsAbsentWhenNotDeclared(t *testing.T) {
	clock := clockwork.NewFakeClockAt(start)
	f := newFake(clock)
	f.maxLife = time.Hour
	r, err := measure.MaxLifetime{Clock: clock}.Measure(t.Context(), f)
	require.NoError(t, err)
	raw, err := json.Marshal(figure(t, r, measure.FigureMaxLifetime))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), `"declared"`)
	assert.Contains(t, string(raw), `"verdict":"measured"`)
}
