package reports_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// partialRun records a 3 s closed-loop run from t0+400ms to t0+3.4s at
// exactly 100 calls/s (a call every 10ms, 5ms each): its window covers
// four clock seconds, the first for 600ms and the last for 400ms. Calls in
// the first 100ms take 80ms, as a cold start would.
func partialRun() *reports.Result {
	start := t0.Add(400 * time.Millisecond)
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.ClosedLoop, Concurrency: 1,
		Start: start, End: start.Add(3 * time.Second)})
	for k := range 300 {
		lat := 5 * time.Millisecond
		if k < 10 {
			lat = 80 * time.Millisecond
		}
		at := start.Add(time.Duration(k) * 10 * time.Millisecond)
		rec.Record(reports.Sample{Start: at, Latency: lat})
	}
	return rec.Finish()
}

// TestTimelinePartialSeconds is issue 15's 3 s run reported as "4
// seconds": each second's rate divides by the time the window covers of
// it, and the timeline line counts 3 s.
func TestTimelinePartialSeconds(t *testing.T) {
	res := partialRun()
	require.Len(t, res.Timeline, 4, "four clock seconds")
	wantCovered := []time.Duration{600 * time.Millisecond, time.Second, time.Second, 400 * time.Millisecond}
	wantSent := []int64{60, 100, 100, 40}
	for i, s := range res.Timeline {
		assert.Equal(t, wantCovered[i], s.Covered, "t=%d", i)
		assert.Equal(t, wantSent[i], s.Sent, "t=%d", i)
		assert.InDelta(t, 100, s.Rate(s.Sent), 1e-9, "t=%d: sent per second of the covered time", i)
		assert.InDelta(t, 100, s.Rate(s.Completed), 1e-9, "t=%d: completed per second of the covered time", i)
	}
	text := string(render(t, res, "text"))
	assert.Contains(t, text, "TIMELINE  3.00s in 4 clock seconds (first 600ms, last 400ms); slowest second t=0s (p99 80.4ms of 60 calls)")

	// Read recomputes the coverage from the window, and the JSON says it.
	b := render(t, res, "json")
	assert.Contains(t, string(b), `"covered_us": 600000`)
	back, err := reports.Read(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, res.Timeline, back.Timeline)
}

// A sliver of a second at the window's end holds few calls: it is the
// slowest second only when no fuller second has calls.
func TestTimelineSlowestSecondSkipsSlivers(t *testing.T) {
	start := t0.Add(900 * time.Millisecond) // the first second covers 100ms
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.ClosedLoop, Start: start, End: start.Add(2 * time.Second)})
	for k := range 200 {
		lat := time.Millisecond
		if k < 5 {
			lat = 50 * time.Millisecond // in the sliver
		}
		rec.Record(reports.Sample{Start: start.Add(time.Duration(k) * 10 * time.Millisecond), Latency: lat})
	}
	res := rec.Finish()
	require.Len(t, res.Timeline, 3)
	assert.Equal(t, 100*time.Millisecond, res.Timeline[0].Covered)
	assert.Contains(t, string(render(t, res, "text")), "2.00s in 3 clock seconds (first 100ms, last 900ms); slowest second t=1s")
}

// Merging lines seconds up by clock second; the merged window decides
// what each covers.
func TestTimelineMergedCoverage(t *testing.T) {
	a := partialRun()
	b := partialRun()
	merged, err := reports.Merge(a, b)
	require.NoError(t, err)
	require.Len(t, merged.Timeline, 4)
	for i, s := range merged.Timeline {
		assert.Equal(t, a.Timeline[i].Covered, s.Covered)
		assert.InDelta(t, 200, s.Rate(s.Completed), 1e-9, "two workers at 100/s each")
	}
}
