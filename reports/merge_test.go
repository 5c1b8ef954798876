package reports_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// percentiles are the points compared between a whole run and its merged parts.
var percentiles = []float64{0, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100}

// assertSameHistogram checks two histograms bucket for bucket (their
// encodings) and at every percentile.
func assertSameHistogram(t *testing.T, want, got *reports.Histogram, what string) {
	t.Helper()
	require.NotNil(t, got, what)
	assert.Equal(t, want.Count(), got.Count(), what)
	assert.Equal(t, want.Encoded(), got.Encoded(), what)
	for _, p := range percentiles {
		assert.Equal(t, want.Percentile(p), got.Percentile(p), "%s p%v", what, p)
	}
	assert.Equal(t, want.Max(), got.Max(), what)
	assert.Equal(t, want.Min(), got.Min(), what)
	assert.Equal(t, want.Mean(), got.Mean(), what)
}

func TestMergeSplitEqualsWhole(t *testing.T) {
	samples := fixtureSamples()
	whole := reports.NewRecorder(fixtureRun())
	parts := make([]*reports.Recorder, 3)
	for i := range parts {
		run := fixtureRun()
		run.Rate = fixtureRate / 3.0
		run.Workers = []string{fmt.Sprintf("w%d", i+1)}
		parts[i] = reports.NewRecorder(run)
	}
	for i, s := range samples {
		whole.Record(s)
		parts[i%3].Record(s)
	}
	want := whole.Finish()

	// Through JSON, as `jitbench report merge` does with workers' files.
	var results []*reports.Result
	for _, p := range parts {
		var b bytes.Buffer
		require.NoError(t, reports.Write(&b, p.Finish()))
		r, err := reports.Read(&b)
		require.NoError(t, err)
		results = append(results, r)
	}
	got, err := reports.Merge(results...)
	require.NoError(t, err)

	assert.Equal(t, want.Calls, got.Calls)
	assert.Equal(t, want.Codes, got.Codes)
	assert.Equal(t, want.Reasons, got.Reasons)
	assert.Equal(t, want.Messages, got.Messages, "message counts add up exactly")
	assert.Equal(t, want.OverRange, got.OverRange)
	assert.Equal(t, want.Run.WarmUpCalls, got.Run.WarmUpCalls)
	assert.Equal(t, want.Run.Start, got.Run.Start)
	assert.Equal(t, want.Run.End, got.Run.End)
	assert.Equal(t, want.Run.Duration, got.Run.Duration)
	assert.InDelta(t, float64(fixtureRate), got.Run.Rate, 1e-9, "rates add up")
	assert.Equal(t, []string{"w1", "w2", "w3"}, got.Run.Workers)

	assertSameHistogram(t, want.Latency, got.Latency, "latency")
	require.Equal(t, len(want.LatencyByCode), len(got.LatencyByCode))
	for code, h := range want.LatencyByCode {
		assertSameHistogram(t, h, got.LatencyByCode[code], code)
	}
	require.Equal(t, len(want.LatencyByReason), len(got.LatencyByReason))
	for reason, h := range want.LatencyByReason {
		assertSameHistogram(t, h, got.LatencyByReason[reason], reason)
	}
	for phase, h := range want.Phases {
		assertSameHistogram(t, h, got.Phases[phase], "phase "+phase)
	}
	assert.Equal(t, want.Timeline, got.Timeline, "every second: counts, codes, encoded histogram, percentiles")

	// And the merged result renders exactly like the whole one, run settings aside.
	got.Run = want.Run
	assert.Equal(t, string(render(t, want, "text")), string(render(t, got, "text")))
}

func TestMergeOneIsACopy(t *testing.T) {
	res := recordFixture()
	got, err := reports.Merge(res)
	require.NoError(t, err)
	assert.Empty(t, got.Expectations, "expectations are checked again against the merged result")
	got.Expectations = res.Expectations
	assert.Equal(t, string(render(t, res, "json")), string(render(t, got, "json")))
}

func TestMergeRefuses(t *testing.T) {
	base := fixture(t)
	otherSchema := *base
	otherSchema.Schema = "jitbench.result/v0"
	otherMethod := *base
	otherMethod.Run.Method = "/demo.v1.Vault/Write"
	otherMode := *base
	otherMode.Run.Mode = reports.ClosedLoop
	for _, tt := range []struct {
		name    string
		results []*reports.Result
		want    string
	}{
		{"nothing", nil, "merge: no results"},
		{"nil", []*reports.Result{base, nil}, "result 2 is nil"},
		{"schema", []*reports.Result{base, &otherSchema}, `result 2 has schema "jitbench.result/v0"`},
		{"method", []*reports.Result{base, &otherMethod}, `result 2 calls "/demo.v1.Vault/Write" but result 1 calls "/demo.v1.Vault/Read"`},
		{"mode", []*reports.Result{base, &otherMode}, "result 2 is closed loop but result 1 is open loop"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reports.Merge(tt.results...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
