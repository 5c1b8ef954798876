package harness

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/scenarios"
)

// window records when a fault was applied and removed.
type window struct {
	mu               sync.Mutex
	applied, removed int
	fail             error
}

func (w *window) Apply(fakes.Env) (func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return nil, w.fail
	}
	w.applied++
	return func() {
		w.mu.Lock()
		w.removed++
		w.mu.Unlock()
	}, nil
}

func (w *window) state() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.applied, w.removed
}

func TestTimelineOpensAndClosesWindows(t *testing.T) {
	whole, brief, late, broken := &window{}, &window{}, &window{}, &window{fail: errors.New("no such link")}
	faults := []*scheduled{
		{spec: scenarios.Fault{Kind: "whole"}, impl: whole},
		{spec: scenarios.Fault{Kind: "brief", Start: 20 * time.Millisecond, Duration: 20 * time.Millisecond}, impl: brief},
		{spec: scenarios.Fault{Kind: "late", Start: time.Hour}, impl: late},
		{spec: scenarios.Fault{Kind: "broken", Start: 10 * time.Millisecond}, impl: broken},
	}
	tl := startTimeline(nil, faults, time.Now())
	applied, _ := whole.state()
	assert.Equal(t, 1, applied, "a window starting at 0 is open before the first call")
	require.Eventually(t, func() bool { _, removed := brief.state(); return removed == 1 }, 5*time.Second, time.Millisecond,
		"the brief window opens at 20ms and closes at 40ms")

	err := tl.stop()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fault broken at 10ms: no such link")
	a, r := whole.state()
	assert.Equal(t, [2]int{1, 1}, [2]int{a, r}, "a window open at the end closes at stop")
	a, r = brief.state()
	assert.Equal(t, [2]int{1, 1}, [2]int{a, r}, "a closed window is not closed twice")
	a, r = late.state()
	assert.Equal(t, [2]int{0, 0}, [2]int{a, r}, "a window after the run never opens")
}

func TestNewFaultsRefusesALateStaticFault(t *testing.T) {
	sc := scenarios.Scenario{Name: "x", Faults: []scenarios.Fault{{Kind: fakes.KindVerifierWrongKey, Start: time.Second, Params: map[string]any{}}}}
	_, err := newFaults(sc)
	require.ErrorContains(t, err, "cannot start later, only at 0")
	sc.Faults[0].Start = 0
	faults, err := newFaults(sc)
	require.NoError(t, err)
	assert.True(t, faults[0].static)
}

// TestTimelineOpensWindowsAfterCalls: a window that waits for calls opens
// when the count is reached, not a call before or after, and records when;
// its duration counts from then.
func TestTimelineOpensWindowsAfterCalls(t *testing.T) {
	third, brief := &window{}, &window{}
	faults := []*scheduled{
		{spec: scenarios.Fault{Kind: "third", AfterCalls: 3}, impl: third},
		{spec: scenarios.Fault{Kind: "brief", AfterCalls: 1, Duration: time.Millisecond}, impl: brief},
	}
	tl := startTimeline(nil, faults, time.Now())
	a, _ := third.state()
	assert.Zero(t, a, "not before any call")
	tl.finished(1)
	tl.finished(2)
	a, _ = third.state()
	assert.Zero(t, a, "not after 2 calls")
	tl.finished(3)
	a, _ = third.state()
	assert.Equal(t, 1, a, "open once 3 calls have finished")
	tl.finished(4)
	a, _ = third.state()
	assert.Equal(t, 1, a, "opened once")
	require.Eventually(t, func() bool { _, r := brief.state(); return r == 1 }, 10*time.Second, time.Millisecond,
		"the brief window closes its duration after it opened")

	require.NoError(t, tl.stop())
	assert.True(t, faults[0].run().Applied)
	assert.Positive(t, faults[0].run().At, "it opened after the load started")
	a, r := third.state()
	assert.Equal(t, [2]int{1, 1}, [2]int{a, r})
}

func TestFractionsTurnPercentagesIntoShares(t *testing.T) {
	in := map[string]any{"deny_share": "50%", "odd": "12.5 %", "after": "10ms", "n": 3, "word": "100%s"}
	assert.Equal(t, map[string]any{"deny_share": 0.5, "odd": 0.125, "after": "10ms", "n": 3, "word": "100%s"}, fractions(in))
	assert.Equal(t, "50%", in["deny_share"], "the scenario's own params are left alone")
}
