package harness

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/scenarios"
)

// Figures are the measured values of a run. The embedded scenarios.Figures
// is what a scenario's explain: template sees ({{.Share "GRANT_EXPIRED"}},
// {{.SkewSeen}}, {{.Meta "expired_ago"}}, …; the loader checks the names);
// the rest is reported alongside.
type Figures struct {
	scenarios.Figures
	// Phases counts calls by phase: grant or call.
	Phases map[string]int `json:"phases"`
	// P90 and Max complete the latency percentiles.
	P90 time.Duration `json:"p90"`
	Max time.Duration `json:"max"`
	// GrantWait is the median time a call spent obtaining a grant when it had to ask for one.
	GrantWait time.Duration `json:"grant_wait"`
	// Approvals and Denials count the broker's decisions during the run.
	Approvals int `json:"approvals"`
	Denials   int `json:"denials"`
	// Message is the most common failure's message.
	Message string `json:"message,omitempty"`
}

// percent renders n of total as a whole percentage, never rounding a
// non-zero share to 0% or a partial one to 100%.
func percent(n, total int) string {
	if total == 0 {
		return "0%"
	}
	p := float64(n) * 100 / float64(total)
	r := math.Round(p)
	switch {
	case n > 0 && r == 0:
		return "<1%"
	case n < total && r == 100:
		return ">99%"
	}
	return fmt.Sprintf("%d%%", int(r))
}

// mostCommon returns the value counted most often, the smallest on ties
// (so reruns agree), or "" when there is none.
func mostCommon(counts map[string]int) string {
	best, bestN := "", 0
	for _, v := range slices.Sorted(maps.Keys(counts)) {
		if counts[v] > bestN {
			best, bestN = v, counts[v]
		}
	}
	return best
}

// metaDuration is the most common value of a duration-valued metadata key, 0 when none parses.
func metaDuration(f scenarios.Figures, key string) time.Duration {
	d, err := time.ParseDuration(f.Meta(key))
	if err != nil {
		return 0
	}
	return d
}

// figures computes the figures of rec for a scenario whose service leeway is leeway.
func figures(rec *Record, leeway time.Duration) Figures {
	f := Figures{
		Figures: scenarios.Figures{
			Calls:      len(rec.Outcomes),
			Codes:      map[string]int{},
			Reasons:    map[string]int{},
			MetaCounts: map[string]map[string]int{},
		},
		Phases: map[string]int{},
	}
	var latencies, grantWaits []time.Duration
	deadlines := map[time.Duration]int{}
	messages := map[string]int{}
	for _, o := range rec.Outcomes {
		f.Codes[reason.CodeName(o.Code)]++
		if o.Reason != "" {
			f.Reasons[string(o.Reason)]++
		}
		f.Phases[o.Phase]++
		latencies = append(latencies, o.Latency)
		deadlines[o.Deadline]++
		if o.GrantFetched && o.Phase != PhaseGrant {
			grantWaits = append(grantWaits, o.GrantWait)
		}
		if o.Code == codes.OK {
			continue
		}
		if o.Message != "" {
			messages[o.Message]++
		}
		for k, v := range o.Metadata {
			if f.MetaCounts[k] == nil {
				f.MetaCounts[k] = map[string]int{}
			}
			f.MetaCounts[k][v]++
		}
	}
	f.P50, f.P90, f.P99, f.Max = percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99), percentile(latencies, 100)
	for d, n := range deadlines {
		if n > deadlines[f.Deadline] || (n == deadlines[f.Deadline] && d < f.Deadline) {
			f.Deadline = d
		}
	}
	f.ApprovalWait = round(percentile(rec.ApprovalLatencies, 50))
	f.GrantWait = round(percentile(grantWaits, 50))
	f.Approvals, f.Denials = len(rec.ApprovalLatencies), rec.Denials
	f.SkewSeen = metaDuration(f.Figures, "skew_seen")
	f.TokenAge = metaDuration(f.Figures, "token_age")
	f.ExpiredAgo = metaDuration(f.Figures, "expired_ago")
	f.OfferedAlg, f.AcceptedAlgs = f.Meta("offered_algorithm"), f.Meta("accepted_algorithms")
	if f.Leeway = metaDuration(f.Figures, "leeway"); f.Leeway == 0 {
		f.Leeway = leeway
	}
	f.Message = mostCommon(messages)
	return f
}

// percentile returns the p-th percentile (nearest rank) of ds, rounded for reading; 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return round(s[min(max(rank, 1), len(s))-1])
}

// round keeps three significant figures or so: 1.234567ms reads 1.23ms.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// explain renders the scenario's explanation with f; a template that does
// not parse or fails to execute gives an error, never a panic.
func explain(sc *scenarios.Scenario, f Figures) (out string, err error) {
	if strings.TrimSpace(sc.Explain) == "" {
		return "", nil
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = "", fmt.Errorf("explain template: %v", p)
		}
	}()
	text, err := sc.RenderExplain(f.Figures)
	if err != nil {
		return "", fmt.Errorf("explain template: %w", err)
	}
	return strings.TrimSpace(text), nil
}
