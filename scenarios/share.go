package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Op compares a measured value with an expected one.
type Op string

// Comparison operators of shares and latency bounds.
const (
	// OpEq requires the exact value (shares only).
	OpEq Op = "="
	// OpLT requires less than the value (latency only).
	OpLT Op = "<"
	// OpLE requires at most the value.
	OpLE Op = "<="
	// OpGT requires more than the value (latency only).
	OpGT Op = ">"
	// OpGE requires at least the value.
	OpGE Op = ">="
)

// shareEpsilon absorbs float rounding: 9 of 10 calls must equal "90%".
const shareEpsilon = 1e-9

// Share is an expected fraction of all calls, parsed from "100%", "90%", ">=90%" or "<=5%".
type Share struct {
	// Op is OpEq, OpGE or OpLE.
	Op Op
	// Fraction is the share as a number between 0 and 1.
	Fraction float64
	// Raw is the text as written, for messages.
	Raw string
}

// sharePattern accepts the ASCII operators and the ≥ ≤ a reader may type, and decimals such as 12.5%.
var sharePattern = regexp.MustCompile(`^(>=|<=|≥|≤)?\s*([0-9]+(?:\.[0-9]+)?)\s*%$`)

// ParseShare reads a share; its errors say what a share looks like.
func ParseShare(s string) (Share, error) {
	m := sharePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Share{}, fmt.Errorf("bad percentage %q: write a share of calls such as 100%%, 90%%, \">=90%%\" or \"<=5%%\"", s)
	}
	pct, err := strconv.ParseFloat(m[2], 64)
	if err != nil || pct > 100 {
		return Share{}, fmt.Errorf("bad percentage %q: a share is between 0%% and 100%% of the calls", s)
	}
	op := OpEq
	switch m[1] {
	case ">=", "≥":
		op = OpGE
	case "<=", "≤":
		op = OpLE
	}
	return Share{Op: op, Fraction: pct / 100, Raw: s}, nil
}

// Check reports whether got, a fraction of all calls between 0 and 1, satisfies the share.
func (s Share) Check(got float64) bool {
	switch s.Op {
	case OpGE:
		return got >= s.Fraction-shareEpsilon
	case OpLE:
		return got <= s.Fraction+shareEpsilon
	default:
		return got >= s.Fraction-shareEpsilon && got <= s.Fraction+shareEpsilon
	}
}

// Min is the least fraction the share allows.
func (s Share) Min() float64 {
	if s.Op == OpLE {
		return 0
	}
	return s.Fraction
}

// Max is the greatest fraction the share allows.
func (s Share) Max() float64 {
	if s.Op == OpGE {
		return 1
	}
	return s.Fraction
}

// String returns the share as written.
func (s Share) String() string { return s.Raw }
