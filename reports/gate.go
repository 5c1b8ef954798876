package reports

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// GateKind says what a gate compares with its threshold.
type GateKind int

// Kinds of gate.
const (
	// Level compares the new figure itself: "p99>200ms", "error_rate>1%", "OK<99%".
	Level GateKind = iota
	// Change compares the new figure minus the base one: "p50>+5ms", "error_rate>+0.5pp".
	Change
	// Relative compares the change as a fraction of the base figure: "p99>+10%".
	Relative
)

// Gate is one regression condition, such as "p99>+10%": when it holds, the
// comparison fails. Gates come from ParseGates.
type Gate struct {
	// Expr is the gate as written.
	Expr string
	// Metric is the figure compared, as Delta.Metric names it.
	Metric string
	// Op is ">", ">=", "<" or "<=".
	Op string
	// Kind says whether the new figure, its change or its relative change is compared.
	Kind GateKind
	// Threshold is in the metric's unit (µs for latency, a fraction for shares), or a fraction for Relative.
	Threshold float64
}

var gateSyntax = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=|>|<)\s*([+-]?)\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Zµ%]*)$`)

// ParseGates parses a comma-separated list of gates, as --fail-on takes it:
//
//	p99>+10%          p99 grew by more than 10 %
//	p50>+5ms          p50 grew by more than 5 ms
//	p99.9>2s          p99.9 is over 2 s
//	error_rate>1%     more than 1 % of calls did not end OK
//	error_rate>+0.5pp the error rate rose by more than half a percentage point
//	OK<99%            fewer than 99 % of calls ended OK
//	GRANT_EXPIRED>0%  any call failed with GRANT_EXPIRED
//	throughput<-5%    throughput fell by more than 5 %
//
// Metrics are p50, p90, p99, p99.9, p99.99, max, mean, min (latency),
// error_rate, a gRPC code name or a reason of the catalog (shares of all
// calls), calls and throughput. A signed threshold compares the change from
// the base result; an unsigned one compares the new result alone. A bad
// gate is an error that quotes it.
func ParseGates(s string) ([]Gate, error) {
	var gates []Gate
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, expr := range strings.Split(s, ",") {
		expr = strings.TrimSpace(expr)
		g, err := parseGate(expr)
		if err != nil {
			return nil, err
		}
		gates = append(gates, g)
	}
	return gates, nil
}

func parseGate(expr string) (Gate, error) {
	bad := func(format string, args ...any) (Gate, error) {
		return Gate{}, fmt.Errorf("gate %q: %s", expr, fmt.Sprintf(format, args...))
	}
	if expr == "" {
		return bad("empty gate (a stray comma?)")
	}
	m := gateSyntax.FindStringSubmatch(expr)
	if m == nil {
		return bad("want METRIC OP VALUE, such as p99>+10%%, p50>+5ms, error_rate>1%% or OK<99%%")
	}
	metric, op, sign, num, suffix := m[1], m[2], m[3], m[4], m[5]
	unit, ok := metricUnit(metric)
	if !ok {
		return bad("unknown metric %q (want p50, p90, p99, p99.9, p99.99, max, mean, min, error_rate, calls, throughput, a gRPC code name or a reason)", metric)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return bad("bad number %q", num)
	}
	if sign == "-" {
		v = -v
	}
	g := Gate{Expr: expr, Metric: metric, Op: op}
	signed := sign != ""
	switch {
	case suffix == "%" && signed:
		g.Kind, g.Threshold = Relative, v/100
	case suffix == "%":
		if unit != Share {
			return bad("%s is not a share: use a %s", metric, hint(unit))
		}
		g.Kind, g.Threshold = Level, v/100
	case suffix == "pp":
		if unit != Share {
			return bad("percentage points apply to shares, and %s is not one: use a %s", metric, hint(unit))
		}
		if !signed {
			return bad("a change in percentage points needs a sign: %s%s+%spp", metric, op, num)
		}
		g.Kind, g.Threshold = Change, v/100
	case suffix != "":
		d, err := time.ParseDuration(num + suffix)
		if err != nil {
			return bad("unknown unit %q (want %%, pp, or a duration unit: us, ms, s, m)", suffix)
		}
		if unit != Latency {
			return bad("%s is not a latency: use a %s", metric, hint(unit))
		}
		g.Threshold = float64(d) / float64(time.Microsecond)
		if sign == "-" {
			g.Threshold = -g.Threshold
		}
		g.Kind = Level
		if signed {
			g.Kind = Change
		}
	default:
		if unit == Latency || unit == Share {
			return bad("%s needs a unit: use a %s", metric, hint(unit))
		}
		g.Kind = Level
		if signed {
			g.Kind = Change
		}
		g.Threshold = v
	}
	return g, nil
}

// hint says what thresholds fit a unit.
func hint(u Unit) string {
	switch u {
	case Latency:
		return "duration (200ms), a change (+5ms) or a relative change (+10%)"
	case Share:
		return "share (1%), a change in percentage points (+0.5pp) or a relative change (+10%)"
	}
	return "number (1000), a change (+100) or a relative change (-5%)"
}

// Verdict is the outcome of one gate on a comparison.
type Verdict struct {
	// Gate is the gate checked.
	Gate Gate
	// Delta is the figure it looked at.
	Delta Delta
	// Got is the value compared with the threshold, in the gate's terms.
	Got float64
	// Failed reports whether the condition held, which fails the comparison.
	Failed bool
}

// Check applies gates to c and returns one verdict per gate, in order.
func (c Comparison) Check(gates []Gate) []Verdict {
	out := make([]Verdict, 0, len(gates))
	for _, g := range gates {
		d, _ := c.Delta(g.Metric) // ParseGates accepted the metric, so it exists
		v := Verdict{Gate: g, Delta: d}
		switch g.Kind {
		case Level:
			v.Got = d.Next
		case Change:
			v.Got = d.Change()
		case Relative:
			v.Got = d.Relative()
		}
		v.Failed = holds(v.Got, g.Op, g.Threshold)
		out = append(out, v)
	}
	return out
}

// Failures returns the verdicts that failed.
func Failures(vs []Verdict) []Verdict {
	var out []Verdict
	for _, v := range vs {
		if v.Failed {
			out = append(out, v)
		}
	}
	return out
}

// holds compares with a tolerance of one part in 10¹², so a share written
// as 1% compares equal to the 0.01 computed from counts.
func holds(got float64, op string, threshold float64) bool {
	eps := 1e-12 * math.Max(1, math.Abs(threshold))
	switch op {
	case ">":
		return got > threshold+eps
	case ">=":
		return got >= threshold-eps
	case "<":
		return got < threshold-eps
	case "<=":
		return got <= threshold+eps
	}
	return false
}

// String says in one line what the gate saw: "FAIL p99>+10%: p99 1.20ms -> 1.45ms, +250µs (+20.8%)".
func (v Verdict) String() string {
	word := "pass"
	if v.Failed {
		word = "FAIL"
	}
	d := v.Delta
	if v.Gate.Kind == Level {
		return fmt.Sprintf("%s %s: %s is %s (base %s)", word, v.Gate.Expr, d.Metric, fmtValue(d.Unit, d.Next), fmtValue(d.Unit, d.Base))
	}
	return fmt.Sprintf("%s %s: %s %s -> %s, %s", word, v.Gate.Expr, d.Metric, fmtValue(d.Unit, d.Base), fmtValue(d.Unit, d.Next), fmtChange(d))
}
