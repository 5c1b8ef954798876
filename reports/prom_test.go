package reports_test

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// parseProm reads exposition text with Prometheus's own parser, with the
// strict legacy name rules so the output suits every Prometheus version.
func parseProm(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	require.NoError(t, err, "the Prometheus parser refused:\n%s", b)
	return mfs
}

func TestPrometheusParses(t *testing.T) {
	res := fixture(t)
	mfs := parseProm(t, render(t, res, "prom"))

	calls := mfs["jitbench_calls_total"]
	require.NotNil(t, calls)
	assert.Equal(t, dto.MetricType_COUNTER, calls.GetType())
	var total float64
	byPair := map[[2]string]float64{}
	for _, m := range calls.GetMetric() {
		lbl := map[string]string{}
		for _, l := range m.GetLabel() {
			lbl[l.GetName()] = l.GetValue()
		}
		byPair[[2]string{lbl["code"], lbl["reason"]}] = m.GetCounter().GetValue()
		total += m.GetCounter().GetValue()
	}
	assert.InDelta(t, float64(res.Calls), total, 0, "the counter sums to every call")
	assert.InDelta(t, float64(res.Codes["UNAVAILABLE"]), byPair[[2]string{"UNAVAILABLE", ""}], 0)
	assert.InDelta(t, 26, byPair[[2]string{"PERMISSION_DENIED", "GRANT_EXPIRED"}], 0)

	lat := mfs["jitbench_latency_seconds"]
	require.NotNil(t, lat)
	assert.Equal(t, dto.MetricType_SUMMARY, lat.GetType())
	s := lat.GetMetric()[0].GetSummary()
	assert.EqualValues(t, res.Calls, s.GetSampleCount())
	for _, q := range s.GetQuantile() {
		if q.GetQuantile() == 0.99 {
			assert.InDelta(t, res.Latency.Percentile(99).Seconds(), q.GetValue(), 1e-9)
		}
	}
	assert.Len(t, mfs["jitbench_code_latency_seconds"].GetMetric(), len(res.Codes))
	assert.Len(t, mfs["jitbench_reason_latency_seconds"].GetMetric(), len(res.LatencyByReason))
	assert.Len(t, mfs["jitbench_phase_latency_seconds"].GetMetric(), 1)
	assert.Len(t, mfs["jitbench_expectation_passed"].GetMetric(), 3)
	assert.NotNil(t, mfs["jitbench_run_info"])
}

// promlint holds the output to Prometheus's naming conventions (units,
// _total on counters, help text).
func TestPrometheusLint(t *testing.T) {
	problems, err := promlint.New(bytes.NewReader(render(t, fixture(t), "prom"))).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// Label values with quotes, backslashes and newlines are escaped.
func TestPrometheusEscapes(t *testing.T) {
	res := fixture(t)
	res.Run.Name = "a \"quoted\"\\ name\nover two lines"
	res.Expectations = append(res.Expectations, reports.Expectation{Name: `p99 < "1s"`, Pass: true})
	mfs := parseProm(t, render(t, res, "prom"))
	info := mfs["jitbench_run_info"].GetMetric()[0]
	for _, l := range info.GetLabel() {
		if l.GetName() == "name" {
			assert.Equal(t, res.Run.Name, l.GetValue())
		}
	}
}
