package fakes

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeySourceOutage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]any
		delay  time.Duration
		what   string
	}{
		{"down by default", nil, 0, "kept the key source down: the service met it on 3 fetches, during 2 calls"},
		{"slow", map[string]any{"behaviour": "slow", "delay": "3s"}, 3 * time.Second, "slowed the key source by 3s: the service met it on 3 fetches, during 2 calls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newFakeEnv(clockwork.NewFakeClock())
			env.keys = &fakeKeySource{}
			f, err := New(KindKeySource, tc.params)
			require.NoError(t, err)
			env.keys.fetch() // before the window: not the fault's
			remove, err := f.Apply(env)
			require.NoError(t, err)
			env.client.Use()
			env.client.Use()
			for range 3 {
				env.keys.fetch()
			}
			assert.Equal(t, []time.Duration{tc.delay}, env.keys.delays)
			assert.Equal(t, 1, env.keys.active)
			remove()
			env.keys.fetch() // after it: not the fault's either
			assert.Equal(t, 0, env.keys.active, "removing the fault ends the outage")
			effects := env.measured()
			require.Len(t, effects, 1)
			assert.Equal(t, Effect{What: tc.what, Met: 3}, effects[0], "what met it are the fetches during the window")
		})
	}
}

func TestKeySourceRefusedWithoutOne(t *testing.T) {
	f, err := New(KindKeySource, nil)
	require.NoError(t, err)
	_, err = f.Apply(newFakeEnv(clockwork.NewFakeClock()))
	assert.ErrorIs(t, err, ErrNoKeySource)
}

func TestKeySourceParams(t *testing.T) {
	_, err := New(KindKeySource, map[string]any{"behaviour": "flaky"})
	assert.Error(t, err)
	_, err = New(KindKeySource, map[string]any{"behaviour": "slow", "delay": "-1s"})
	var pe *ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "delay", pe.Key)
}
