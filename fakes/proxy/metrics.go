package proxy

import (
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxMethods bounds the distinct method labels a proxy keeps, so a client
// calling random method names cannot grow its memory or its /metrics
// without bound; calls beyond it count under OtherMethod.
const maxMethods = 512

// OtherMethod is the method label of calls past the first maxMethods distinct methods.
const OtherMethod = "(other)"

// Metrics counts, per method and per fault, the calls a proxy saw, the
// faults it applied and the codes it returned. It is a
// prometheus.Collector, and Snapshot reads it from Go.
type Metrics struct {
	mu      sync.Mutex
	methods map[string]struct{}
	calls   map[string]uint64
	faults  map[AppliedKey]uint64
	codes   map[CodeKey]uint64
}

// AppliedKey names one count of applied faults.
type AppliedKey struct {
	Fault, Kind, Method string
}

// CodeKey names one count of returned codes: a gRPC code name
// (PERMISSION_DENIED) or an HTTP status ("503").
type CodeKey struct {
	Method, Code string
}

// Snapshot is the counts at one moment.
type Snapshot struct {
	// Calls are the calls seen per method.
	Calls map[string]uint64
	// Applied are the faults applied per fault, kind and method.
	Applied map[AppliedKey]uint64
	// Codes are the codes returned per method and code.
	Codes map[CodeKey]uint64
}

// AppliedBy sums the applications of the fault named fault over methods.
func (s Snapshot) AppliedBy(fault string) uint64 {
	var n uint64
	for k, v := range s.Applied {
		if k.Fault == fault {
			n += v
		}
	}
	return n
}

// CodeCount sums the calls that ended with code over methods.
func (s Snapshot) CodeCount(code string) uint64 {
	var n uint64
	for k, v := range s.Codes {
		if k.Code == code {
			n += v
		}
	}
	return n
}

// TotalCalls sums the calls seen over methods.
func (s Snapshot) TotalCalls() uint64 {
	var n uint64
	for _, v := range s.Calls {
		n += v
	}
	return n
}

// NewMetrics returns zeroed counters.
func NewMetrics() *Metrics {
	return &Metrics{
		methods: make(map[string]struct{}),
		calls:   make(map[string]uint64),
		faults:  make(map[AppliedKey]uint64),
		codes:   make(map[CodeKey]uint64),
	}
}

// labelLocked returns the label for method, admitting it while there is room.
func (m *Metrics) labelLocked(method string) string {
	method = cleanLabel(method)
	if _, ok := m.methods[method]; ok {
		return method
	}
	if len(m.methods) >= maxMethods {
		return OtherMethod
	}
	m.methods[method] = struct{}{}
	return method
}

// maxLabel bounds a method label's length: paths can be long.
const maxLabel = 200

// cleanLabel makes method a valid, bounded Prometheus label value; a
// hostile client may send any bytes as a path.
func cleanLabel(method string) string {
	if len(method) > maxLabel {
		method = method[:maxLabel] + "…"
	}
	return strings.ToValidUTF8(method, "\uFFFD")
}

func (m *Metrics) seen(method string) {
	m.mu.Lock()
	m.calls[m.labelLocked(method)]++
	m.mu.Unlock()
}

func (m *Metrics) applied(fault, kind, method string) {
	m.mu.Lock()
	m.faults[AppliedKey{fault, kind, m.labelLocked(method)}]++
	m.mu.Unlock()
}

func (m *Metrics) returned(method, code string) {
	m.mu.Lock()
	m.codes[CodeKey{m.labelLocked(method), code}]++
	m.mu.Unlock()
}

// Snapshot copies the counts.
func (m *Metrics) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Snapshot{Calls: maps.Clone(m.calls), Applied: maps.Clone(m.faults), Codes: maps.Clone(m.codes)}
}

var (
	descCalls = prometheus.NewDesc("jitbench_proxy_calls_total",
		"Calls the proxy saw, by method (gRPC full method or HTTP path).", []string{"method"}, nil)
	descApplied = prometheus.NewDesc("jitbench_proxy_faults_applied_total",
		"Faults the proxy applied, by fault name, kind and method.", []string{"fault", "kind", "method"}, nil)
	descCodes = prometheus.NewDesc("jitbench_proxy_responses_total",
		"Calls the proxy ended, by method and the code returned to the client (a gRPC code name, or an HTTP status).", []string{"method", "code"}, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCalls
	ch <- descApplied
	ch <- descCodes
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.Snapshot()
	for method, n := range s.Calls {
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(n), method)
	}
	for k, n := range s.Applied {
		ch <- prometheus.MustNewConstMetric(descApplied, prometheus.CounterValue, float64(n), k.Fault, k.Kind, k.Method)
	}
	for k, n := range s.Codes {
		ch <- prometheus.MustNewConstMetric(descCodes, prometheus.CounterValue, float64(n), k.Method, k.Code)
	}
}

// Handler serves the counts in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
