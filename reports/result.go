package reports

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Schema names the version of the result format. A reader refuses any other
// value: a change that old readers would misread gets a new version, while
// new optional fields keep this one (readers ignore fields they do not know).
const Schema = "jitbench.result/v1"

// Result is everything a load run measured: the run's settings, the calls by
// code and reason, latency histograms, a per-second timeline and the
// expectations checked against it. Its size depends on the run's duration
// and on the number of distinct codes and reasons, never on the number of calls.
type Result struct {
	// Schema is always the Schema constant; Read refuses other values.
	Schema string `json:"schema"`
	// Run describes how the load was generated.
	Run Run `json:"run"`
	// Calls is the number of calls completed in the measured window.
	Calls int64 `json:"calls"`
	// OverRange counts calls slower than 60 s, recorded as 60 s.
	OverRange int64 `json:"over_range,omitempty"`
	// Codes counts calls by gRPC code name (reason.CodeName: "OK", "PERMISSION_DENIED").
	Codes map[string]int64 `json:"codes"`
	// Reasons counts calls by (code, reason), for calls whose status carried a reason; sorted by code then reason.
	Reasons []ReasonCount `json:"reasons"`
	// Messages keeps, per failed (code, reason), the most frequent status
	// messages with exact counts, tokens redacted; sorted by code then reason.
	Messages []MessageCounts `json:"messages,omitempty"`
	// Latency is the distribution of every call.
	Latency *Histogram `json:"latency"`
	// LatencyByCode has one distribution per code in Codes.
	LatencyByCode Histograms `json:"latency_by_code"`
	// LatencyByReason has one distribution per reason in Reasons.
	LatencyByReason Histograms `json:"latency_by_reason"`
	// Phases breaks calls into the phases the generator timed ("grant", "approval_wait", "call"), if any.
	Phases Histograms `json:"phases,omitempty"`
	// Timeline has one entry per second, without gaps, from the window's first second to its last.
	Timeline []Second `json:"timeline"`
	// Expectations are the checks made against this result; JUnit renders them as test cases.
	Expectations []Expectation `json:"expectations,omitempty"`
	// Diagnoses are the causes of the failed calls of a run against a
	// user's service, most frequent first; empty for other runs.
	Diagnoses []Diagnosis `json:"diagnoses,omitempty"`
	// Findings are what the run's measurements of a user's service found, one line each.
	Findings []string `json:"findings,omitempty"`
}

// Run describes one load run; merged results describe all their workers together.
type Run struct {
	// Name names the run or scenario.
	Name string `json:"name,omitempty"`
	// Target is the address called ("127.0.0.1:7443", "inprocess").
	Target string `json:"target"`
	// Method is the full gRPC method ("/demo.v1.Vault/Read").
	Method string `json:"method"`
	// Start is the start of the measured window, after the warm-up.
	Start time.Time `json:"start"`
	// End is the end of the measured window, when the last call finished.
	End time.Time `json:"end"`
	// Duration is End minus Start.
	Duration Duration `json:"duration"`
	// WarmUp is how long the load ran before Start; its calls are not in the figures.
	WarmUp Duration `json:"warm_up,omitempty"`
	// WarmUpCalls counts the calls made during the warm-up and left out.
	WarmUpCalls int64 `json:"warm_up_calls,omitempty"`
	// Mode is open loop (an arrival rate) or closed loop (a number of workers).
	Mode Mode `json:"mode"`
	// Rate is the target arrival rate in calls per second in open loop (the final rate of a ramp).
	Rate float64 `json:"rate,omitempty"`
	// Pacer describes the arrival schedule in words when it is not a constant rate ("ramp 100/s to 1000/s over 30s").
	Pacer string `json:"pacer,omitempty"`
	// Concurrency is the number of concurrent callers in closed loop.
	Concurrency int `json:"concurrency,omitempty"`
	// Connections is the number of gRPC connections used.
	Connections int `json:"connections,omitempty"`
	// Seed seeds the generator's random choices, so a run can be repeated.
	Seed int64 `json:"seed"`
	// Version is the jitbench version that produced the result.
	Version string `json:"jitbench_version,omitempty"`
	// Workers lists the ids of the workers whose results this is.
	Workers []string `json:"workers,omitempty"`
}

// Mode is how the load generator paces calls.
type Mode string

// Modes of load generation.
const (
	// OpenLoop sends calls at a fixed arrival rate whatever the answers; latency is measured from the intended send time.
	OpenLoop Mode = "open"
	// ClosedLoop keeps a fixed number of calls in flight; latency is measured from the actual send time.
	ClosedLoop Mode = "closed"
)

// valid reports whether m is a known mode or unset.
func (m Mode) valid() bool { return m == "" || m == OpenLoop || m == ClosedLoop }

// Duration is a time.Duration written in JSON as Go duration text ("1m30s"),
// which people can read and write, where time.Duration would be nanoseconds.
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads duration text ("30s").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ReasonCount is the number of calls that failed with one reason under one code.
type ReasonCount struct {
	// Code is the gRPC code name.
	Code string `json:"code"`
	// Reason is the machine reason from the status's ErrorInfo.
	Reason string `json:"reason"`
	// Calls is the number of calls.
	Calls int64 `json:"calls"`
}

// Expectation is one check made against a result, such as "p99 below 200ms".
type Expectation struct {
	// Name identifies the check; JUnit uses it as the test case name.
	Name string `json:"name"`
	// Want is what was expected, in words ("< 200ms", ">= 99%").
	Want string `json:"want"`
	// Got is what was measured, in words.
	Got string `json:"got"`
	// Pass reports whether Got satisfies Want.
	Pass bool `json:"pass"`
}

// Share returns the fraction (0..1) of calls that got code; 0 when no call completed.
func (r *Result) Share(code string) float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.Codes[code]) / float64(r.Calls)
}

// ReasonShare returns the fraction (0..1) of calls that failed with reason, under any code.
func (r *Result) ReasonShare(reason string) float64 {
	if r.Calls == 0 {
		return 0
	}
	var n int64
	for _, rc := range r.Reasons {
		if rc.Reason == reason {
			n += rc.Calls
		}
	}
	return float64(n) / float64(r.Calls)
}

// ErrorRate returns the fraction (0..1) of calls that did not end OK.
func (r *Result) ErrorRate() float64 {
	if r.Calls == 0 {
		return 0
	}
	return 1 - r.Share("OK")
}

// Throughput returns completed calls per second over the measured window.
func (r *Result) Throughput() float64 {
	d := time.Duration(r.Run.Duration).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(r.Calls) / d
}

// Failed reports whether any expectation did not pass.
func (r *Result) Failed() bool {
	return slices.ContainsFunc(r.Expectations, func(e Expectation) bool { return !e.Pass })
}

// codeNames returns the codes seen, OK first, then by decreasing count and name.
func (r *Result) codeNames() []string {
	names := sortedKeys(r.Codes)
	slices.SortStableFunc(names, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "OK":
			return -1
		case b == "OK":
			return 1
		case r.Codes[a] != r.Codes[b]:
			if r.Codes[a] > r.Codes[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// unexplained returns, per non-OK code, the calls whose status carried no reason.
func (r *Result) unexplained() map[string]int64 {
	out := map[string]int64{}
	for code, n := range r.Codes {
		if code != "OK" {
			out[code] = n
		}
	}
	for _, rc := range r.Reasons {
		out[rc.Code] -= rc.Calls
	}
	for code, n := range out {
		if n <= 0 {
			delete(out, code)
		}
	}
	return out
}
