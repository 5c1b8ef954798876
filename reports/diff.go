package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/jitbench/jitbench/reference/reason"
	"google.golang.org/grpc/codes"
)

// Unit says what a compared figure measures and how it is written.
type Unit string

// Units of compared figures.
const (
	// Latency figures are in microseconds, the histograms' unit, so gate arithmetic on them is exact.
	Latency Unit = "latency"
	// Share figures are fractions of all calls, 0..1.
	Share Unit = "share"
	// Count figures are numbers of calls.
	Count Unit = "count"
	// Rate figures are calls per second.
	Rate Unit = "rate"
)

// Delta is one figure of two results side by side.
type Delta struct {
	// Metric names the figure as gates do: "p99", "error_rate", "OK", "GRANT_EXPIRED", "calls", "throughput".
	Metric string
	// Unit says what Base and Next measure.
	Unit Unit
	// Base is the figure in the base result.
	Base float64
	// Next is the figure in the new result.
	Next float64
}

// Change returns Next minus Base.
func (d Delta) Change() float64 { return d.Next - d.Base }

// Relative returns the change as a fraction of Base (0.1 is +10 %); from a
// Base of zero any rise is +Inf, so a relative gate catches it.
func (d Delta) Relative() float64 {
	switch {
	case d.Base != 0:
		return (d.Next - d.Base) / math.Abs(d.Base)
	case d.Next > 0:
		return math.Inf(1)
	case d.Next < 0:
		return math.Inf(-1)
	}
	return 0
}

// Comparison holds the figures of a base and a new result side by side.
type Comparison struct {
	// Base and Next describe the two runs.
	Base, Next Run
	// Deltas lists the figures: volume, errors, each code's and reason's share, then latency percentiles.
	Deltas []Delta
}

// latencyMetrics are the latency figures compared, by gate name.
var latencyMetrics = []struct {
	name string
	get  func(*Histogram) time.Duration
}{
	{"p50", func(h *Histogram) time.Duration { return h.Percentile(50) }},
	{"p90", func(h *Histogram) time.Duration { return h.Percentile(90) }},
	{"p99", func(h *Histogram) time.Duration { return h.Percentile(99) }},
	{"p99.9", func(h *Histogram) time.Duration { return h.Percentile(99.9) }},
	{"p99.99", func(h *Histogram) time.Duration { return h.Percentile(99.99) }},
	{"max", (*Histogram).Max},
	{"mean", (*Histogram).Mean},
	{"min", (*Histogram).Min},
}

// Diff compares two results figure by figure; Check then applies gates.
func Diff(base, next *Result) Comparison {
	c := Comparison{Base: base.Run, Next: next.Run}
	add := func(metric string, unit Unit, b, n float64) {
		c.Deltas = append(c.Deltas, Delta{Metric: metric, Unit: unit, Base: b, Next: n})
	}
	add("calls", Count, float64(base.Calls), float64(next.Calls))
	add("throughput", Rate, base.Throughput(), next.Throughput())
	add("error_rate", Share, base.ErrorRate(), next.ErrorRate())
	var codeNames []string
	for _, code := range append(base.codeNames(), next.codeNames()...) {
		codeNames = appendNew(codeNames, code)
	}
	for _, code := range codeNames {
		add(code, Share, base.Share(code), next.Share(code))
	}
	var reasons []string
	for _, rc := range append(slices.Clone(base.Reasons), next.Reasons...) {
		reasons = appendNew(reasons, rc.Reason)
	}
	slices.Sort(reasons)
	for _, rs := range reasons {
		add(rs, Share, base.ReasonShare(rs), next.ReasonShare(rs))
	}
	for _, m := range latencyMetrics {
		add(m.name, Latency, micros(m.get(base.Latency)), micros(m.get(next.Latency)))
	}
	return c
}

func micros(d time.Duration) float64 { return float64(d / time.Microsecond) }

// Delta returns the figure named metric. A code or reason that neither
// result saw is a share of zero in both.
func (c Comparison) Delta(metric string) (Delta, bool) {
	for _, d := range c.Deltas {
		if d.Metric == metric {
			return d, true
		}
	}
	if unit, ok := metricUnit(metric); ok && unit == Share {
		return Delta{Metric: metric, Unit: Share}, true
	}
	return Delta{}, false
}

// metricUnit returns the unit of a metric name gates accept.
func metricUnit(name string) (Unit, bool) {
	switch name {
	case "calls":
		return Count, true
	case "throughput":
		return Rate, true
	case "error_rate":
		return Share, true
	}
	for _, m := range latencyMetrics {
		if m.name == name {
			return Latency, true
		}
	}
	if isCodeName(name) || reason.Reason(name).Code() != codes.Unknown {
		return Share, true
	}
	return "", false
}

// isCodeName reports whether s is a gRPC code name such as "PERMISSION_DENIED".
func isCodeName(s string) bool {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if reason.CodeName(c) == s {
			return true
		}
	}
	return false
}

// fmtValue writes a figure in its unit.
func fmtValue(u Unit, v float64) string {
	switch u {
	case Latency:
		return fmtLatency(time.Duration(v) * time.Microsecond)
	case Share:
		return fmtShare(v)
	case Rate:
		return fmtRate(v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// fmtChange writes how a figure moved: latency in its unit, shares in
// percentage points, and every figure also relative to the base.
func fmtChange(d Delta) string {
	rel := d.Relative()
	relText := ""
	switch {
	case math.IsInf(rel, 0):
		relText = "new"
	default:
		relText = fmt.Sprintf("%+.1f%%", noNegativeZero(math.Round(rel*1000)/10))
	}
	switch d.Unit {
	case Latency:
		sign := "+"
		if d.Change() < 0 {
			sign = "-"
		}
		return fmt.Sprintf("%s%s (%s)", sign, fmtLatency(time.Duration(math.Abs(d.Change()))*time.Microsecond), relText)
	case Share:
		return fmt.Sprintf("%+.2fpp (%s)", noNegativeZero(math.Round(d.Change()*10000)/100), relText)
	}
	return relText
}

// noNegativeZero turns -0 into 0, so an unchanged figure never reads "-0.0%".
func noNegativeZero(v float64) float64 {
	if v == 0 {
		return 0
	}
	return v
}
