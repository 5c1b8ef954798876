package broker

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
)

// ExpiringSoonWindow is how close to its expiry an active grant counts in jit_broker_grants_expiring_soon.
const ExpiringSoonWindow = 5 * time.Minute

// reasonReviewerDenied labels jit_broker_denials_total for a reviewer's DENY,
// beside the reasons the API refuses calls with (SELF_APPROVAL, NOT_APPROVER, NO_POLICY).
const reasonReviewerDenied = string(reason.ApprovalDenied)

// metrics are the broker's Prometheus series. They live in a private
// registry (so two brokers in one process never collide) and are also
// registered with Config.Registerer when one is given.
type metrics struct {
	registry     *prometheus.Registry
	transitions  *prometheus.CounterVec
	requests     *prometheus.GaugeVec
	latency      prometheus.Histogram
	grantsIssued prometheus.Counter
	denials      *prometheus.CounterVec

	// extra and collectors are kept to unregister on Close, so a broker
	// restarted in the same process can register again.
	extra      prometheus.Registerer
	collectors []prometheus.Collector

	// active maps the request id of every APPROVED request to its grant's
	// expiry; jit_broker_grants_expiring_soon is computed from it on each
	// scrape, so it is exact at any moment without a timer per grant.
	mu     sync.Mutex
	active map[string]time.Time
}

// newMetrics builds the series and registers them.
func newMetrics(b *Broker, extra prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jit_broker_requests_total",
			Help: "Transitions of access requests into each state.",
		}, []string{"state"}),
		requests: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jit_broker_requests",
			Help: "Access requests currently in each state.",
		}, []string{"state"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jit_broker_approval_latency_seconds",
			Help:    "Time from request to approval (reviewer or policy).",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600},
		}),
		grantsIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jit_broker_grants_issued_total",
			Help: "Grants signed on approval.",
		}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jit_broker_denials_total",
			Help: "Refusals by reason: API refusals (SELF_APPROVAL, NOT_APPROVER, NO_POLICY) and reviewer denials (APPROVAL_DENIED).",
		}, []string{"reason"}),
		active: make(map[string]time.Time),
	}
	expiring := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "jit_broker_grants_expiring_soon",
		Help: fmt.Sprintf("Active grants expiring within %v.", ExpiringSoonWindow),
	}, func() float64 { return float64(m.expiringSoon(b.clock.Now())) })

	// Every state and reason appears from the start, so dashboards and
	// rate() see a zero before the first event rather than no series.
	for s := range jitv1.State_name {
		if st := jitv1.State(s); st != jitv1.State_STATE_UNSPECIFIED {
			m.transitions.WithLabelValues(stateName(st))
			m.requests.WithLabelValues(stateName(st))
		}
	}
	for _, r := range []reason.Reason{reason.SelfApproval, reason.NotApprover, reason.NoPolicy, reason.ApprovalDenied} {
		m.denials.WithLabelValues(string(r))
	}

	m.collectors = []prometheus.Collector{m.transitions, m.requests, m.latency, m.grantsIssued, m.denials, expiring}
	for _, c := range m.collectors {
		m.registry.MustRegister(c) // a fresh registry cannot hold a duplicate
	}
	if extra != nil {
		for i, c := range m.collectors {
			if err := extra.Register(c); err != nil {
				for _, done := range m.collectors[:i] {
					extra.Unregister(done)
				}
				return nil, fmt.Errorf("register broker metrics: %w", err)
			}
		}
		m.extra = extra
	}
	return m, nil
}

// unregister removes the series from Config.Registerer.
func (m *metrics) unregister() {
	if m.extra == nil {
		return
	}
	for _, c := range m.collectors {
		m.extra.Unregister(c)
	}
}

// MetricsHandler serves the broker's metrics in the Prometheus exposition format.
func (b *Broker) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(b.metrics.registry, promhttp.HandlerOpts{})
}

// Gatherer returns the broker's private registry, for callers that merge it into their own exposition.
func (b *Broker) Gatherer() prometheus.Gatherer { return b.metrics.registry }

// loaded counts a request read from the store at start.
func (m *metrics) loaded(r *jitv1.AccessRequest) {
	m.requests.WithLabelValues(stateName(r.GetState())).Inc()
	m.track(r)
}

// committed updates the series after a committed change; prev is nil for a new request.
func (m *metrics) committed(prev *jitv1.AccessRequest, c *change) {
	if prev != nil {
		m.requests.WithLabelValues(stateName(prev.GetState())).Dec()
	}
	m.requests.WithLabelValues(stateName(c.next.GetState())).Inc()
	for _, rec := range c.audit {
		switch rec.Action {
		case actionRequested, actionApproved, actionDenied, actionExpired, actionWithdrawn, actionEnded, actionRevoked:
			m.transitions.WithLabelValues(rec.To).Inc()
		}
		switch rec.Action {
		case actionApproved:
			m.latency.Observe(rec.ApprovalLatency.Seconds())
		case actionGrantIssued:
			m.grantsIssued.Inc()
		case actionDenied:
			m.denials.WithLabelValues(reasonReviewerDenied).Inc()
		}
	}
	m.track(c.next)
}

// refused counts a call refused with a machine reason; other errors are not denials.
func (m *metrics) refused(err error) {
	if r := reason.Of(err); r != "" {
		m.denials.WithLabelValues(string(r)).Inc()
	}
}

// track keeps active in step with r's state.
func (m *metrics) track(r *jitv1.AccessRequest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.GetState() == jitv1.State_STATE_APPROVED {
		m.active[r.GetId()] = r.GetGrantExpiresAt().AsTime()
	} else {
		delete(m.active, r.GetId())
	}
}

// expiringSoon counts active grants whose expiry is within ExpiringSoonWindow of now.
func (m *metrics) expiringSoon(now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, exp := range m.active {
		if exp.Sub(now) <= ExpiringSoonWindow {
			n++
		}
	}
	return n
}
