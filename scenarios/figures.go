package scenarios

import (
	"maps"
	"slices"
	"time"
)

// Figures are what an explain template sees: the figures the harness
// measured in one run. The loader refuses a template that names anything
// else (see figureNames), so a typo fails when the file loads, not when a
// user finally reproduces the failure.
type Figures struct {
	// Calls is how many calls the run made.
	Calls int
	// Codes counts calls by final gRPC code name (OK, PERMISSION_DENIED).
	Codes map[string]int
	// Reasons counts calls by denial reason (GRANT_EXPIRED).
	Reasons map[string]int
	// P50 and P99 are latency percentiles over every call.
	P50, P99 time.Duration
	// Deadline is the calls' deadline.
	Deadline time.Duration
	// ApprovalWait is the median time a grant took to arrive.
	ApprovalWait time.Duration
	// SkewSeen is the most common skew_seen of denials: how far in the future a token's nbf or iat was.
	SkewSeen time.Duration
	// TokenAge is the most common token_age of denials.
	TokenAge time.Duration
	// ExpiredAgo is the most common expired_ago of denials.
	ExpiredAgo time.Duration
	// Leeway is the service verifier's clock-skew tolerance.
	Leeway time.Duration
	// OfferedAlg is the most common offered_algorithm of denials.
	OfferedAlg string
	// AcceptedAlgs is the most common accepted_algorithms of denials, e.g. "EdDSA,ES256".
	AcceptedAlgs string
	// Diagnosis is the most common diagnosis of failed calls to a user's
	// service (topology external), in one line with its figures; Fix is what it says to change.
	Diagnosis, Fix string
	// Measurements says what the scenario's measurements found, one line each.
	Measurements string
	// MetaCounts counts, per denial metadata key, how often each value was seen; templates read it through Meta.
	MetaCounts map[string]map[string]int
}

// Share returns the share of calls that ended with a code or a reason, as "87%" (or "12.5%").
func (f Figures) Share(name string) string {
	if f.Calls <= 0 {
		return "0%"
	}
	n, ok := f.Codes[name]
	if !ok {
		n = f.Reasons[name]
	}
	return percent(float64(n) / float64(f.Calls))
}

// Meta returns the most common value of a denial metadata key ("" when no
// denial carried it); ties go to the value that sorts first, so the same
// run always prints the same words.
func (f Figures) Meta(key string) string {
	best, bestN := "", 0
	for _, v := range slices.Sorted(maps.Keys(f.MetaCounts[key])) {
		if n := f.MetaCounts[key][v]; n > bestN {
			best, bestN = v, n
		}
	}
	return best
}
