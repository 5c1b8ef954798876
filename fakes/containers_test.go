package fakes

import (
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContainerFaults opens and closes each container fault's window on a
// topology with containers: the window's start does the first operation,
// its end the undoing one, and nothing else is touched.
func TestContainerFaults(t *testing.T) {
	tests := []struct {
		kind     string
		on, undo string
		account  string
	}{
		{KindContainerPause, "PauseBroker", "UnpauseBroker", "paused the broker"},
		{KindContainerKill, "KillBroker", "RestartBroker", "killed the broker"},
		{KindNetworkPartition, "DisconnectVault", "ReconnectVault", "cut the Vault off"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			e := newFakeEnv(clockwork.NewFakeClockAt(t0))
			e.ctrs = &fakeContainers{}
			f, err := New(tt.kind, nil)
			require.NoError(t, err)
			_, static := f.(Static)
			assert.False(t, static, "a container fault acts on a running system")

			remove, err := f.Apply(e)
			require.NoError(t, err)
			assert.Equal(t, []string{tt.on}, e.ctrs.Calls(), "the window opened")
			assert.Equal(t, []Effect{{What: tt.account, Met: 1}}, e.measured(), "the engine's account is the effect")
			remove()
			assert.Equal(t, []string{tt.on, tt.undo}, e.ctrs.Calls(), "the window closed")
			assert.Empty(t, e.broker.Calls(), "the broker's in-process controls are not used")
		})
	}
}

// TestContainerFaultsNeedContainers: on a topology without containers the
// fault refuses to apply and says which topology it needs; a failed first
// operation fails the fault, and leaves nothing to undo.
func TestContainerFaultsNeedContainers(t *testing.T) {
	for _, kind := range []string{KindContainerPause, KindContainerKill, KindNetworkPartition} {
		t.Run(kind, func(t *testing.T) {
			f, err := New(kind, nil)
			require.NoError(t, err)
			remove, err := f.Apply(newFakeEnv(clockwork.NewFakeClockAt(t0)))
			require.ErrorIs(t, err, ErrNoContainers)
			assert.Contains(t, err.Error(), "needs topology container")
			assert.Nil(t, remove)
		})
	}

	e := newFakeEnv(clockwork.NewFakeClockAt(t0))
	e.ctrs = &fakeContainers{fail: "KillBroker"}
	f, err := New(KindContainerKill, nil)
	require.NoError(t, err)
	remove, err := f.Apply(e)
	require.EqualError(t, err, "KillBroker: the engine refused")
	assert.Nil(t, remove)
	assert.Equal(t, []string{"KillBroker"}, e.ctrs.Calls(), "no restart of a broker that was never killed")
}

func TestContainerFaultsTakeNoParams(t *testing.T) {
	for _, kind := range []string{KindContainerPause, KindContainerKill, KindNetworkPartition} {
		_, err := New(kind, map[string]any{"target": "vault"})
		var pe *ParamError
		require.ErrorAs(t, err, &pe, kind)
		assert.Equal(t, "target", pe.Key)
		assert.Contains(t, err.Error(), "this fault takes none")
	}
}
