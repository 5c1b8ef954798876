package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdsBroker says the two container kinds of the test take the broker's container whole.
func holdsBroker(kind string) string {
	if kind == "container-pause" || kind == "container-kill" {
		return "the broker's container"
	}
	return ""
}

func TestFaultWindows(t *testing.T) {
	const head = "name: w\nsummary: s\nexpect: {codes: {OK: 100%}}\nload: {calls: 10}\nfaults:\n"
	tests := []struct {
		name, faults, wantErr string
		afterCalls            []int
	}{
		{name: "after calls", faults: "  - {kind: revoke, after_calls: 4}\n", afterCalls: []int{4}},
		{name: "start and after calls", faults: "  - {kind: revoke, start: 1s, after_calls: 4}\n",
			wantErr: "w.yaml:6:31: start and after_calls both say when the fault opens: give one or the other"},
		{name: "no calls before", faults: "  - {kind: revoke, after_calls: 0}\n",
			wantErr: "w.yaml:6:33: after_calls must be between 1 and 1000000, got 0"},
		{name: "after the last call", faults: "  - {kind: revoke, after_calls: 10}\n",
			wantErr: "w.yaml:6:33: after_calls 10: the load makes 10 calls, so no call would run under this fault"},
		{name: "layers compose", faults: "  - {kind: credentials-missing, credential: identity, duration: 300ms}\n  - {kind: credentials-missing, credential: grant, start: 100ms}\n",
			afterCalls: []int{0, 0}},
		{name: "one container thing at a time", faults: "  - {kind: container-pause, start: 1s, duration: 1s}\n  - {kind: container-kill, start: 1500ms}\n",
			wantErr: "w.yaml:7:5: fault container-kill overlaps fault container-pause at line 6 (from 1s for 1s): both take the broker's container whole"},
		{name: "one after the other", faults: "  - {kind: container-pause, start: 1s, duration: 1s}\n  - {kind: container-kill, start: 2s}\n",
			afterCalls: []int{0, 0}},
		{name: "held to the end", faults: "  - {kind: container-kill}\n  - {kind: container-pause, start: 5s, duration: 1s}\n",
			wantErr: "w.yaml:7:5: fault container-pause overlaps fault container-kill at line 6 (from 0s to the end)"},
		{name: "an event may overlap anything", faults: "  - {kind: container-pause, start: 1s, duration: 1s}\n  - {kind: container-kill, after_calls: 2, duration: 1s}\n",
			wantErr: "w.yaml:7:5: fault container-kill overlaps fault container-pause"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("w.yaml", []byte(head+tt.faults), LoadOptions{Holds: holdsBroker})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			got := make([]int, len(s.Faults))
			for i, f := range s.Faults {
				got[i] = f.AfterCalls
			}
			assert.Equal(t, tt.afterCalls, got)
		})
	}
}
