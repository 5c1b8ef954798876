package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// promQuantiles are the summary quantiles written; 1 is the maximum.
var promQuantiles = []float64{0.5, 0.9, 0.99, 0.999, 0.9999, 1}

// WritePrometheus writes r in the Prometheus text exposition format (0.0.4),
// for the node exporter's textfile collector or a Pushgateway: calls by code
// and reason as a counter, latency as summaries (overall, by code, by reason,
// by phase) with quantiles from the HDR histograms, and the run as an info
// metric. No sample carries a timestamp, which textfile collectors refuse.
func WritePrometheus(w io.Writer, r *Result) error {
	p := &promWriter{}
	run := r.Run
	p.family("jitbench_run_info", "gauge", "The load run these figures come from; always 1.")
	p.sample("jitbench_run_info", labels("name", run.Name, "target", run.Target, "method", run.Method,
		"mode", string(run.Mode), "version", run.Version), 1)
	if !run.Start.IsZero() {
		p.family("jitbench_run_start_timestamp_seconds", "gauge", "Start of the measured window, after the warm-up, in Unix seconds.")
		p.sample("jitbench_run_start_timestamp_seconds", "", float64(run.Start.UnixNano())/1e9)
	}
	p.family("jitbench_run_duration_seconds", "gauge", "Length of the measured window.")
	p.sample("jitbench_run_duration_seconds", "", seconds(time.Duration(run.Duration)))
	if run.Mode == OpenLoop {
		p.family("jitbench_target_rate_per_second", "gauge", "Arrival rate the open-loop generator aimed at.")
		p.sample("jitbench_target_rate_per_second", "", run.Rate)
	}
	if run.Mode == ClosedLoop {
		p.family("jitbench_concurrency", "gauge", "Concurrent callers of the closed-loop generator.")
		p.sample("jitbench_concurrency", "", float64(run.Concurrency))
	}
	p.family("jitbench_warm_up_calls_total", "counter", "Calls made during the warm-up and left out of every other figure.")
	p.sample("jitbench_warm_up_calls_total", "", float64(run.WarmUpCalls))

	p.family("jitbench_calls_total", "counter", "Calls completed in the measured window, by gRPC code and JIT reason (empty when the status carried none).")
	for _, rc := range callsByPair(r) {
		p.sample("jitbench_calls_total", labels("code", rc.Code, "reason", rc.Reason), float64(rc.Calls))
	}

	p.summary("jitbench_latency_seconds", "Latency of every call (from the intended send time in open loop); quantiles from an HDR histogram, quantile 1 is the maximum, the sum is estimated.", "", "", r.Latency)
	p.family("jitbench_code_latency_seconds", "summary", "Latency of calls by gRPC code; quantiles from an HDR histogram, quantile 1 is the maximum, the sum is estimated.")
	for _, code := range sortedKeys(r.LatencyByCode) {
		p.summaryBody("jitbench_code_latency_seconds", "code", code, r.LatencyByCode[code])
	}
	if len(r.LatencyByReason) > 0 {
		p.family("jitbench_reason_latency_seconds", "summary", "Latency of calls by JIT reason; quantiles from an HDR histogram, quantile 1 is the maximum, the sum is estimated.")
		for _, reason := range sortedKeys(r.LatencyByReason) {
			p.summaryBody("jitbench_reason_latency_seconds", "reason", reason, r.LatencyByReason[reason])
		}
	}
	if len(r.Phases) > 0 {
		p.family("jitbench_phase_latency_seconds", "summary", "Time spent in each phase of a call; quantiles from an HDR histogram, quantile 1 is the maximum, the sum is estimated.")
		for _, phase := range sortedKeys(r.Phases) {
			p.summaryBody("jitbench_phase_latency_seconds", "phase", phase, r.Phases[phase])
		}
	}
	if len(r.Expectations) > 0 {
		p.family("jitbench_expectation_passed", "gauge", "1 when the expectation passed, 0 when it failed.")
		for _, e := range r.Expectations {
			v := 0.0
			if e.Pass {
				v = 1
			}
			p.sample("jitbench_expectation_passed", labels("name", e.Name), v)
		}
	}
	_, err := io.WriteString(w, p.b.String())
	return err
}

// callsByPair lists calls by (code, reason), with reason empty for the calls
// of a code that carried none, so the counter sums to all calls.
func callsByPair(r *Result) []ReasonCount {
	var out []ReasonCount
	for code, n := range r.Codes {
		for _, rc := range r.Reasons {
			if rc.Code == code {
				n -= rc.Calls
			}
		}
		if n > 0 || r.Codes[code] == 0 {
			out = append(out, ReasonCount{Code: code, Calls: n})
		}
	}
	out = append(out, r.Reasons...)
	sortReasons(out)
	return out
}

type promWriter struct{ b strings.Builder }

func (p *promWriter) family(name, typ, help string) {
	fmt.Fprintf(&p.b, "# HELP %s %s\n# TYPE %s %s\n", name, promHelpEscaper.Replace(help), name, typ)
}

// sample writes one line; lbls is already formatted by labels.
func (p *promWriter) sample(name, lbls string, v float64) {
	p.b.WriteString(name)
	if lbls != "" {
		p.b.WriteString("{" + lbls + "}")
	}
	p.b.WriteString(" " + promFloat(v) + "\n")
}

func (p *promWriter) summary(name, help, key, value string, h *Histogram) {
	p.family(name, "summary", help)
	p.summaryBody(name, key, value, h)
}

// summaryBody writes one summary series: quantiles, _sum and _count; key is
// empty for a series without a label.
func (p *promWriter) summaryBody(name, key, value string, h *Histogram) {
	var base []string
	if key != "" {
		base = []string{key, value}
	}
	for _, q := range promQuantiles {
		d := h.Percentile(q * 100)
		if q == 1 {
			d = h.Max()
		}
		p.sample(name, labels(append(base, "quantile", promFloat(q))...), seconds(d))
	}
	p.sample(name+"_sum", labels(base...), seconds(h.Sum()))
	p.sample(name+"_count", labels(base...), float64(h.Count()))
}

// labels formats name, value pairs as Prometheus labels.
func labels(kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+`="`+promLabelEscaper.Replace(kv[i+1])+`"`)
	}
	return strings.Join(parts, ",")
}

var (
	promHelpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	promLabelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// promFloat writes v in plain decimal notation, shortest form.
func promFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// seconds converts with one rounding, where Duration.Seconds adds two
// rounded parts: 1.892351 stays 1.892351, not 1.8923510000000001.
func seconds(d time.Duration) float64 { return float64(d) / 1e9 }
