package reports_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

func TestRecorderFixture(t *testing.T) {
	res := recordFixture()
	assert.Equal(t, reports.Schema, res.Schema)
	assert.EqualValues(t, fixtureCalls, res.Calls)
	assert.EqualValues(t, fixtureWarmUp, res.Run.WarmUpCalls, "warm-up calls are counted, phases are not")
	assert.Equal(t, t0, res.Run.Start)
	assert.Equal(t, res.Run.End.Sub(res.Run.Start), time.Duration(res.Run.Duration))

	var sum int64
	for _, n := range res.Codes {
		sum += n
	}
	assert.Equal(t, res.Calls, sum)
	assert.Equal(t, res.Calls, res.Latency.Count())
	for code, n := range res.Codes {
		assert.Equal(t, n, res.LatencyByCode[code].Count(), code)
	}
	assert.EqualValues(t, fixtureCalls/10, res.Phases["grant"].Count(), "phase samples are not calls")

	// The freeze: latency from the intended send time shows the 2 s wait.
	assert.GreaterOrEqual(t, res.Latency.Percentile(99), 1500*time.Millisecond)
	assert.Less(t, res.Latency.Percentile(50), 5*time.Millisecond)
}

func TestRecorderTimeline(t *testing.T) {
	res := recordFixture()
	require.Len(t, res.Timeline, 10, "one entry per second of the window, gaps included")
	var sent, completed int64
	for i, s := range res.Timeline {
		assert.Equal(t, int64(i), s.T)
		assert.Equal(t, t0.Unix()+int64(i), s.Unix)
		sent += s.Sent
		completed += s.Completed
		var byCode int64
		for _, n := range s.Codes {
			byCode += n
		}
		assert.Equal(t, s.Completed, byCode)
	}
	assert.EqualValues(t, fixtureCalls, sent)
	assert.EqualValues(t, fixtureCalls, completed)
	// Frozen from t=4s to t=6s: calls were sent, none completed, then all at once.
	for _, i := range []int{4, 5} {
		assert.EqualValues(t, 100, res.Timeline[i].Sent, "t=%d", i)
		assert.Zero(t, res.Timeline[i].Completed, "t=%d", i)
		assert.Empty(t, res.Timeline[i].HDR)
	}
	assert.Greater(t, res.Timeline[6].Completed, int64(250))
	assert.Greater(t, res.Timeline[6].P99, time.Second)
	assert.Less(t, res.Timeline[1].P50, 5*time.Millisecond)
}

func TestRecorderSecondsAndDefaults(t *testing.T) {
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.ClosedLoop})
	start := t0.Add(500 * time.Millisecond)
	// Closed loop: no intended time, latency from Start; sent at 0.5 s, done at 2.7 s.
	rec.Record(reports.Sample{Start: start, Latency: 2200 * time.Millisecond})
	// Over the histograms' range: counted as 60 s.
	rec.Record(reports.Sample{Start: start, Latency: 90 * time.Second, Code: "DEADLINE_EXCEEDED"})
	res := rec.Finish()

	assert.Equal(t, start, res.Run.Start, "an unset start is the first send")
	assert.Equal(t, start.Add(90*time.Second), res.Run.End, "an unset end is the last completion")
	assert.EqualValues(t, 1, res.Codes["OK"], "an empty code is OK")
	assert.EqualValues(t, 1, res.OverRange)
	assert.InEpsilon(t, float64(60*time.Second), float64(res.LatencyByCode["DEADLINE_EXCEEDED"].Max()), 0.001)
	require.Equal(t, 91, len(res.Timeline))
	assert.EqualValues(t, 2, res.Timeline[0].Sent)
	assert.EqualValues(t, 1, res.Timeline[2].Completed)
	assert.EqualValues(t, 1, res.Timeline[90].Completed)
	assert.Equal(t, []reports.ReasonCount{}, res.Reasons)
}

func TestFinishIsASnapshot(t *testing.T) {
	rec := reports.NewRecorder(reports.Run{Method: "/m"})
	rec.Record(reports.Sample{Start: t0, Latency: time.Millisecond})
	first := rec.Finish()
	rec.Record(reports.Sample{Start: t0, Latency: time.Millisecond})
	second := rec.Finish()
	assert.EqualValues(t, 1, first.Calls)
	assert.EqualValues(t, 2, second.Calls)
	assert.EqualValues(t, 1, first.Timeline[0].Completed, "a result does not change after Finish")
	assert.EqualValues(t, 2, second.Timeline[0].Completed)
}

// Concurrent recording gives exactly what recording one by one gives.
func TestRecorderConcurrent(t *testing.T) {
	samples := fixtureSamples()
	seq := reports.NewRecorder(fixtureRun())
	for _, s := range samples {
		seq.Record(s)
	}
	par := reports.NewRecorder(fixtureRun())
	const workers = 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(samples); i += workers {
				par.Record(samples[i])
			}
		})
	}
	wg.Wait()
	assert.Equal(t, string(render(t, seq.Finish(), "json")), string(render(t, par.Finish(), "json")))
}

// Memory does not grow with calls: seconds are sealed and encoded as they
// pass, and histograms are per outcome, not per call.
func TestRecorderLongRunStaysSmall(t *testing.T) {
	const seconds, rate = 120, 50
	rec := reports.NewRecorder(reports.Run{Method: "/m", Start: t0, Mode: reports.OpenLoop, Rate: rate})
	for i := range seconds * rate {
		at := t0.Add(time.Duration(i) * time.Second / rate)
		rec.Record(reports.Sample{Intended: at, Start: at, Latency: us(500 + 37*i%2000)})
	}
	res := rec.Finish()
	assert.EqualValues(t, seconds*rate, res.Calls)
	require.Equal(t, seconds, len(res.Timeline))
	for _, s := range res.Timeline {
		require.EqualValues(t, rate, s.Sent)
	}
	b := render(t, res, "json")
	assert.Less(t, len(b), seconds*600, "a second of timeline is a few hundred bytes of JSON")
}
