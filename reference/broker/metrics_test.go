package broker_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/broker"
)

// scrape reads the broker's exposition as a Prometheus server would.
func scrape(t testing.TB, b *broker.Broker) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	b.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	return families
}

// metricValue returns the value of the series name{labels} (a histogram's sample count).
func metricValue(t testing.TB, b *broker.Broker, name string, labels map[string]string) float64 {
	t.Helper()
	fam, ok := scrape(t, b)[name]
	require.True(t, ok, "no metric %s", name)
	for _, m := range fam.GetMetric() {
		match := true
		for _, l := range m.GetLabel() {
			if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, func(c *broker.Config) { c.Registerer = reg })

	approved := f.request(alice, read(10*time.Minute)).GetId()
	f.clock.Advance(3 * time.Second)
	_, err := f.approve(bob, approved)
	require.NoError(t, err)
	_, err = f.deny(bob, f.request(alice, read(0)).GetId())
	require.NoError(t, err)
	_, err = f.approve(sam, f.request(sam, read(0)).GetId())
	require.Error(t, err)
	f.request(alice, write())

	families := scrape(t, f.b)
	for _, name := range []string{
		"jit_broker_requests_total", "jit_broker_requests", "jit_broker_approval_latency_seconds",
		"jit_broker_grants_issued_total", "jit_broker_denials_total", "jit_broker_grants_expiring_soon",
	} {
		assert.Contains(t, families, name)
	}
	value := func(name string, labels map[string]string) float64 { return metricValue(t, f.b, name, labels) }
	assert.Equal(t, 4.0, value("jit_broker_requests_total", map[string]string{"state": "PENDING"}))
	assert.Equal(t, 1.0, value("jit_broker_requests_total", map[string]string{"state": "APPROVED"}))
	assert.Equal(t, 1.0, value("jit_broker_requests_total", map[string]string{"state": "DENIED"}))
	assert.Equal(t, 2.0, value("jit_broker_requests", map[string]string{"state": "PENDING"}))
	assert.Equal(t, 1.0, value("jit_broker_requests", map[string]string{"state": "APPROVED"}))
	assert.Equal(t, 0.0, value("jit_broker_requests", map[string]string{"state": "REVOKED"}))
	assert.Equal(t, 1.0, value("jit_broker_grants_issued_total", nil))
	assert.Equal(t, 1.0, value("jit_broker_approval_latency_seconds", nil))
	assert.Equal(t, 3.0, families["jit_broker_approval_latency_seconds"].GetMetric()[0].GetHistogram().GetSampleSum())
	assert.Equal(t, 1.0, value("jit_broker_denials_total", map[string]string{"reason": "SELF_APPROVAL"}))
	assert.Equal(t, 1.0, value("jit_broker_denials_total", map[string]string{"reason": "APPROVAL_DENIED"}))

	// The 10-minute grant enters the 5-minute window without a transition.
	assert.Equal(t, 0.0, value("jit_broker_grants_expiring_soon", nil))
	f.clock.Advance(5 * time.Minute)
	assert.Equal(t, 1.0, value("jit_broker_grants_expiring_soon", nil))

	// The Registerer given in the Config gets the same series.
	gathered, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, fam := range gathered {
		names[fam.GetName()] = true
	}
	assert.True(t, names["jit_broker_grants_issued_total"])
	assert.True(t, names["jit_broker_grants_expiring_soon"])
}

// TestMetricsAcrossRestart: a broker closed and restarted in one process
// registers its series with the same Registerer again.
func TestMetricsAcrossRestart(t *testing.T) {
	reg := prometheus.NewRegistry()
	withReg := func(c *broker.Config) { c.Registerer = reg }
	f := newFixture(t, withReg)
	_, err := broker.New(broker.Config{Store: f.store, Policy: f.policy, Issuer: f.issuer, Clock: f.clock, Registerer: reg})
	require.Error(t, err, "two live brokers cannot share a Registerer")

	f.request(alice, read(0))
	require.NoError(t, f.b.Close())
	f.b = f.open(withReg)
	assert.Equal(t, 1.0, metricValue(t, f.b, "jit_broker_requests", map[string]string{"state": "PENDING"}),
		"the gauge is rebuilt from the store")
}
