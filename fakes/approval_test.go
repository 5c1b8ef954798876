package fakes

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

func TestApprovalBehaviours(t *testing.T) {
	tests := []struct {
		params map[string]any
		want   Decision
	}{
		{map[string]any{"behaviour": "approve"}, Decision{Approve: true, Comment: "jitbench approval fault: approve"}},
		{map[string]any{"behaviour": "approve", "after": "90s"}, Decision{Approve: true, After: 90 * time.Second, Comment: "jitbench approval fault: approve"}},
		{map[string]any{"behaviour": "deny", "after": "1s"}, Decision{After: time.Second, Comment: "jitbench approval fault: deny"}},
		{map[string]any{"behaviour": "never"}, Decision{Never: true, Comment: "jitbench approval fault: never"}},
		{map[string]any{"behaviour": "flaky", "deny_share": 0}, Decision{Approve: true, Comment: "jitbench approval fault: flaky"}},
		{map[string]any{"behaviour": "flaky", "deny_share": 1}, Decision{Comment: "jitbench approval fault: flaky"}},
	}
	for _, tt := range tests {
		t.Run(tt.params["behaviour"].(string), func(t *testing.T) {
			e := newFakeEnv(clockwork.NewFakeClockAt(t0))
			f, err := New(KindApproval, tt.params)
			require.NoError(t, err)
			remove, err := f.Apply(e)
			require.NoError(t, err)
			for range 5 {
				assert.Equal(t, tt.want, e.broker.Approver().Decide(&jitv1.AccessRequest{Id: "r"}))
			}
			remove()
			assert.Equal(t, []string{"SetApprover", "RemoveApprover"}, e.broker.Calls())
		})
	}
}

// TestApprovalFlakyIsSeeded checks the flaky reviewer denies about its
// share and makes the same decisions for the same seed.
func TestApprovalFlakyIsSeeded(t *testing.T) {
	decisions := func(seed int64) []bool {
		e := newFakeEnv(clockwork.NewFakeClockAt(t0))
		e.seed = seed
		f, err := New(KindApproval, map[string]any{"behaviour": "flaky", "deny_share": 0.3, "after": "2s"})
		require.NoError(t, err)
		_, err = f.Apply(e)
		require.NoError(t, err)
		out := make([]bool, 2000)
		for i := range out {
			d := e.broker.Approver().Decide(&jitv1.AccessRequest{})
			assert.Equal(t, 2*time.Second, d.After)
			out[i] = d.Approve
		}
		return out
	}
	a := decisions(1)
	assert.Equal(t, a, decisions(1), "same seed, same decisions")
	assert.NotEqual(t, a, decisions(2))
	denied := 0
	for _, ok := range a {
		if !ok {
			denied++
		}
	}
	assert.InDelta(t, 0.3, float64(denied)/float64(len(a)), 0.05)

	f, err := New(KindApproval, map[string]any{"behaviour": "flaky"})
	require.NoError(t, err)
	e := newFakeEnv(clockwork.NewFakeClockAt(t0))
	_, err = f.Apply(e)
	require.NoError(t, err)
	denied = 0
	for range 2000 {
		if !e.broker.Approver().Decide(nil).Approve {
			denied++
		}
	}
	assert.InDelta(t, 0.5, float64(denied)/2000, 0.05, "deny_share defaults to a half")
}
