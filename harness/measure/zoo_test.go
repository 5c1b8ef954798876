package measure_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/harness/measure"
	"github.com/jitbench/jitbench/harness/zootarget"
)

// The integration tests measure zoo members, services written as if by
// other teams, each running as a process of its own and reached through
// the target config a user would write from its documentation.

// zooTarget starts kind's correct build in a process as o says and
// returns a measurement target for it, through a session on the config
// a user would write from its documentation.
func zooTarget(t *testing.T, kind zoo.Kind, o zootarget.Options) measure.Target {
	t.Helper()
	o.ServeKeys = true
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a safety net for a service that never answers
	defer cancel()
	s, err := conformance.Open(ctx, zootarget.Start(t, kind, o).Config)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return measure.FromSession(s)
}

// measureByName runs the registered measurement name against tg.
func measureByName(t *testing.T, tg measure.Target, name string) measure.Result {
	t.Helper()
	m, err := measure.Lookup(name)
	require.NoError(t, err)
	r, err := m.Measure(t.Context(), tg)
	require.NoError(t, err, name)
	return r
}

// TestZooMembers measures every member with the registered measurements,
// as the scenario engine will: the leeway each documents within a second,
// clocks that agree within a second, the lifetime each caps grants at,
// and "cannot measure" where the config has no hook, without an error.
func TestZooMembers(t *testing.T) {
	for _, kind := range zoo.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			conv, err := zoo.Describe(kind)
			require.NoError(t, err)
			tg := zooTarget(t, kind, zootarget.Options{})

			r := measureByName(t, tg, measure.NameLeeway)
			lw := figure(t, r, measure.FigureLeeway)
			within(t, conv.Leeway, lw.Value, time.Second, "leeway")
			assert.Equal(t, conv.Leeway, lw.Declared)
			assert.Equal(t, measure.Match, lw.Verdict, lw.Comparison)
			off := figure(t, r, measure.FigureClockOffset)
			within(t, 0, off.Value, time.Second, "clock offset")
			assert.Equal(t, measure.Match, off.Verdict, off.Comparison)
			t.Logf("%s: %d probes; %s; %s", kind, r.Probes, lw.Comparison, off.Comparison)

			r = measureByName(t, tg, measure.NameMaxLifetime)
			lf := figure(t, r, measure.FigureMaxLifetime)
			within(t, conv.MaxLifetime, lf.Value, time.Second, "max lifetime")
			assert.Equal(t, measure.Match, lf.Verdict, lf.Comparison)
			t.Logf("%s: %d probes; %s", kind, r.Probes, lf.Comparison)

			r = measureByName(t, tg, measure.NameRevocation)
			if slices.Contains(conv.Capabilities, zoo.CapRevocation) {
				p50 := figure(t, r, measure.FigureRevocationP50)
				assert.GreaterOrEqual(t, p50.Value, conv.RevocationDelay, "not before the service's propagation delay")
				assert.Less(t, p50.Value, conv.RevocationDelay+time.Second, p50.Comparison)
			} else {
				assert.Equal(t, measure.CannotMeasure, r.Verdict, "%s has no revoke hook", kind)
				assert.Contains(t, r.Why, "no revoke hook")
			}
			if tg.KeySource() == nil {
				r = measureByName(t, tg, measure.NameKeyRotation)
				assert.Equal(t, measure.CannotMeasure, r.Verdict)
				assert.Contains(t, r.Why, "no key source")
			}
		})
	}
}

// TestZooClockOffset runs methods-list (leeway 30 s) on a fixed clock set
// ahead of ours and behind it. A fixed clock stands still while ours runs,
// so the offset shrinks as the measurement goes: it is held to the range
// it took during the measurement, with a second of resolution either side.
func TestZooClockOffset(t *testing.T) {
	for _, ahead := range []time.Duration{20 * time.Second, -15 * time.Second} {
		t.Run(ahead.String(), func(t *testing.T) {
			fixed := time.Now().Add(ahead).Truncate(time.Second) // the flag carries whole seconds
			tg := zooTarget(t, zoo.MethodsList, zootarget.Options{Now: fixed})
			begin := time.Now()
			r, err := measure.Leeway{}.Measure(t.Context(), tg)
			end := time.Now()
			require.NoError(t, err)
			off := figure(t, r, measure.FigureClockOffset)
			assert.GreaterOrEqual(t, off.Value, fixed.Sub(end)-time.Second, off.Comparison)
			assert.LessOrEqual(t, off.Value, fixed.Sub(begin)+time.Second, off.Comparison)
			assert.Equal(t, measure.Differs, off.Verdict)
			// The two searches ran at offsets apart by at most the measurement's length.
			within(t, 30*time.Second, figure(t, r, measure.FigureLeeway).Value, time.Second+end.Sub(begin)/2, "leeway")
			t.Logf("set %s, measured over %s: %s", ahead, end.Sub(begin), off.Comparison)
		})
	}
}

// TestZooKeyRotation measures oauth-scope, which reads its keys from the
// suite's key source and keeps a fetched key set for its max age (300 ms
// here), fetching at once for a kid it does not know. A new key is
// honoured at its first try; a removed one until the cached set is older
// than the max age. The set holding the key was fetched before the key was
// retired, so the first try after max age from the retirement refetches
// and refuses it: the removal is at most the max age plus one poll
// interval (20 ms) and one call's latency, which a loaded 2-core machine
// under -race keeps well inside the 2 s margin.
func TestZooKeyRotation(t *testing.T) {
	const maxAge, margin = 300 * time.Millisecond, 2 * time.Second
	tg := zooTarget(t, zoo.OAuthScope, zootarget.Options{KeyCache: maxAge})
	r, err := measure.KeyRotation{Interval: 20 * time.Millisecond, Bound: 20 * time.Second}.Measure(t.Context(), tg)
	require.NoError(t, err)
	assert.Equal(t, measure.Measured, r.Verdict)
	for _, name := range []string{measure.FigureKeyRotation, measure.FigureKeyRemoval} {
		f := figure(t, r, name)
		assert.False(t, f.AboveBound, f.Comparison)
		assert.GreaterOrEqual(t, f.Value, time.Duration(0), name)
		assert.LessOrEqual(t, f.Value, maxAge+margin, f.Comparison)
		t.Logf("%s", f.Comparison)
	}
	// Removal is the cache's doing: a key the set no longer holds is still accepted for a while.
	assert.Greater(t, r.Probes, 3, "the removed key was tried more than once")
}
