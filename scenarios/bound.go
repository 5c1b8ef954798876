package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bound is an expected latency limit, parsed from "<500ms", "<=2s", ">1s" or ">=100ms".
type Bound struct {
	// Op is OpLT, OpLE, OpGT or OpGE.
	Op Op
	// Duration is the limit.
	Duration time.Duration
	// Raw is the text as written, for messages.
	Raw string
}

var (
	boundPattern = regexp.MustCompile(`^(<=|>=|<|>|≤|≥)\s*(\S+)$`)
	boundOps     = map[string]Op{"<": OpLT, "<=": OpLE, "≤": OpLE, ">": OpGT, ">=": OpGE, "≥": OpGE}
)

// ParseBound reads a latency bound; its errors say what a bound looks like.
func ParseBound(s string) (Bound, error) {
	m := boundPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Bound{}, fmt.Errorf("bad latency bound %q: write a comparison and a duration, such as <500ms, <=2s or \">1s\"", s)
	}
	d, err := time.ParseDuration(m[2])
	if err != nil || d < 0 {
		return Bound{}, fmt.Errorf("bad latency bound %q: %q is not a duration such as 300ms, 2s or 1m", s, m[2])
	}
	return Bound{Op: boundOps[m[1]], Duration: d, Raw: s}, nil
}

// Check reports whether the measured latency got satisfies the bound.
func (b Bound) Check(got time.Duration) bool {
	switch b.Op {
	case OpLT:
		return got < b.Duration
	case OpLE:
		return got <= b.Duration
	case OpGT:
		return got > b.Duration
	default:
		return got >= b.Duration
	}
}

// String returns the bound as written.
func (b Bound) String() string { return b.Raw }

var percentilePattern = regexp.MustCompile(`^p([0-9]+(?:\.[0-9]+)?)$`)

// ParsePercentile reads a latency key: "p50" is 50, "p99.9" is 99.9, "p100" the slowest call.
func ParsePercentile(key string) (float64, error) {
	m := percentilePattern.FindStringSubmatch(key)
	if m == nil {
		return 0, fmt.Errorf("unknown latency percentile %q: write p50, p90, p99, p99.9 or p100", key)
	}
	p, err := strconv.ParseFloat(m[1], 64)
	if err != nil || p <= 0 || p > 100 {
		return 0, fmt.Errorf("unknown latency percentile %q: a percentile is above 0 and at most 100", key)
	}
	return p, nil
}
