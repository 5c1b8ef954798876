package reports

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The calls-per-second plot draws rates per covered time at the middle of
// each second's covered part, and leaves out slivers: a steady 100 calls/s
// run draws a flat line, not a ramp up and down.
func TestRatePlotHasNoRamp(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := t0.Add(900 * time.Millisecond) // first second: 100ms; last: 400ms
	rec := NewRecorder(Run{Method: "/m", Mode: ClosedLoop, Start: start, End: start.Add(2500 * time.Millisecond)})
	for k := range 250 {
		rec.Record(Sample{Start: start.Add(time.Duration(k) * 10 * time.Millisecond), Latency: time.Millisecond})
	}
	res := rec.Finish()
	require.Len(t, res.Timeline, 4)

	tl := rateSeconds(res.Timeline)
	require.Len(t, tl, 3, "the 100ms sliver is left out")
	sent := rateXYs(res, tl, func(s Second) int64 { return s.Sent })
	ok := rateXYs(res, tl, func(s Second) int64 { return s.Codes["OK"] })
	wantX := []float64{0.6, 1.6, 2.3} // seconds since start: the middles of 0.1..1.1, 1.1..2.1, 2.1..2.5
	for i := range tl {
		assert.InDelta(t, wantX[i], sent[i].X, 1e-9)
		assert.InDelta(t, 100, sent[i].Y, 1e-9, "sent at %v", sent[i].X)
		assert.InDelta(t, 100, ok[i].Y, 1e-9, "completed at %v", ok[i].X)
	}

	// A run shorter than minPlotCover still draws what it has.
	short := NewRecorder(Run{Method: "/m", Mode: ClosedLoop, Start: start, End: start.Add(150 * time.Millisecond)})
	short.Record(Sample{Start: start, Latency: time.Millisecond})
	assert.Len(t, rateSeconds(short.Finish().Timeline), 2)
}
