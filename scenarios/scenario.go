// Package scenarios holds the scenario schema, its strict loader and the
// embedded scenario library. A scenario is one YAML file: the system under
// test, the faults injected on a timeline, the load, what the outcome must
// be, and the explanation `jitbench repro` prints with the measured figures.
package scenarios

import "time"

// Scenario is one scenario file.
type Scenario struct {
	// Name is the stable kebab-case id (the file name without .yaml).
	Name string `yaml:"name"`
	// Summary says in one sentence what goes wrong.
	Summary string `yaml:"summary"`
	// Tags group scenarios for `jitbench run --tag`.
	Tags []string `yaml:"tags"`
	// Cause names the seed-catalog cause the scenario reproduces, if any (see Causes).
	Cause string `yaml:"cause"`
	// Topology is where it runs: inprocess (default), tcp or container; or
	// external, the user's own service (a target config is needed to run it).
	Topology string `yaml:"topology"`
	// Seed makes the run deterministic (jitter, error rates, forged ids); 0 is a seed like any other.
	Seed int64 `yaml:"seed"`
	// Service, Broker and Client configure the system under test.
	Service Service `yaml:"service"`
	Broker  Broker  `yaml:"broker"`
	Client  Client  `yaml:"client"`
	// Faults are injected on the run's timeline.
	Faults []Fault `yaml:"faults"`
	// Load says how many calls to make and how.
	Load LoadProfile `yaml:"load"`
	// Measure names measurements of the target (topology external) that
	// search for a property and report its figure, e.g. leeway; run
	// before the load, if the scenario has one.
	Measure []string `yaml:"measure"`
	// Expect is what the outcome must be.
	Expect Expect `yaml:"expect"`
	// Explain is a text/template rendered with the measured figures (see Figures for the names it may use).
	Explain string `yaml:"explain"`

	// File is where the scenario was loaded from, for error messages.
	File string `yaml:"-"`
}

// Service configures the protected service's verifiers.
type Service struct {
	// Leeway tolerates clock skew; default (and when 0) 30s, the verifier's own default.
	Leeway time.Duration `yaml:"leeway"`
	// Algorithms is the pinned list, each one of EdDSA, ES256, RS256, HS256; default [EdDSA, ES256].
	Algorithms []string `yaml:"algorithms"`
	// MaxGrantLifetime caps exp−iat; default (and when 0) 1h.
	MaxGrantLifetime time.Duration `yaml:"max_grant_lifetime"`
	// RevocationMode is strict (default) or best_effort.
	RevocationMode string `yaml:"revocation_mode"`
	// MaxStaleness bounds the revocation view's age; default (and when 0) 15s.
	MaxStaleness time.Duration `yaml:"max_staleness"`
}

// Broker configures the reference broker.
type Broker struct {
	// Approval is how requests get decided: "auto" (default, after AutoApprove), or "reviewer" (a scripted approver fault decides).
	// A scenario with an approval fault must say reviewer, or the auto-approval would race the scripted reviewer.
	Approval string `yaml:"approval"`
	// AutoApprove delays automatic approval; default (and when 0) 1ms.
	AutoApprove time.Duration `yaml:"auto_approve"`
	// Algorithm signs grants: EdDSA (default), ES256, RS256 or HS256.
	Algorithm string `yaml:"algorithm"`
	// GrantTTL is the requested grant duration, at least 1s (the broker's minimum); default (and when 0) 5m.
	GrantTTL time.Duration `yaml:"grant_ttl"`
	// PolicyMethods are the methods the broker's policy rule covers; a request for any other method is
	// refused with NO_POLICY (a misconfigured policy). Default ["/demo.v1.Vault/*"], every Vault method.
	PolicyMethods []string `yaml:"policy_methods"`
}

// Client configures the caller.
type Client struct {
	// Subject is the caller's identity; default alice.
	Subject string `yaml:"subject"`
	// Method is the full method called, "/package.Service/Method"; default /demo.v1.Vault/Read.
	Method string `yaml:"method"`
	// Resource is the path called with; default secrets/db/password.
	Resource string `yaml:"resource"`
	// Deadline is each call's deadline; default (and when 0) 2s.
	Deadline time.Duration `yaml:"deadline"`
	// Grants is where grants come from: "broker" (default: request, wait for approval), "minted" (signed locally, no approval) or "none".
	Grants string `yaml:"grants"`
	// GrantScope overrides the methods the grant is requested for; default [Method].
	GrantScope []string `yaml:"grant_scope"`
	// GrantResource overrides the resource pattern the grant is requested for; default "secrets/*".
	GrantResource string `yaml:"grant_resource"`
}

// Fault is one fault on the timeline. Kind selects the implementation in
// package fakes; Params are its attributes, decoded strictly by that kind.
type Fault struct {
	// Kind is a registered fault kind, e.g. clock-skew.
	Kind string `yaml:"kind"`
	// Start is when the fault begins, from the start of the run; default 0.
	Start time.Duration `yaml:"start"`
	// AfterCalls, when set, opens the window once that many calls have
	// finished, before the caller that finished the last of them makes its
	// next call, instead of at Start: an event, not a time, so the same
	// calls see the fault however loaded the machine is. It excludes Start.
	AfterCalls int `yaml:"after_calls"`
	// Duration is how long it lasts, from when it opened; 0 means until the end of the run.
	Duration time.Duration `yaml:"duration"`
	// Params are the kind's own attributes (every key but kind, start and duration), as YAML decodes
	// them: durations and percentages stay strings ("2m", "50%"); never nil after loading.
	Params map[string]any `yaml:",inline"`

	// Line and Column locate the fault in its file, for the harness's own messages about it.
	Line, Column int `yaml:"-"`
}

// LoadProfile says how calls are made (not named Load: that is the function that loads a file).
// Without Rate the run is a closed loop: Concurrency callers, each making
// one call after another. With Rate it is an open loop: calls are sent at
// that arrival rate whatever the answers, and each is timed from when it was due.
type LoadProfile struct {
	// Calls is how many calls to make; default (and when 0) 20, unless Duration is set: then as many as fit in it.
	Calls int `yaml:"calls"`
	// Concurrency is how many callers run at once (closed loop); default (and when 0) 1.
	Concurrency int `yaml:"concurrency"`
	// Interval spaces a caller's calls (closed loop): its k-th call is due k·Interval after the start; default 0 (back to back).
	Interval time.Duration `yaml:"interval"`
	// Rate is an open-loop arrival rate as `jitbench load --rate` takes it ("50/s", "5/100ms"); empty means closed loop.
	Rate string `yaml:"rate"`
	// Duration bounds the load in time; with Calls too, whichever comes first ends it. Default 0: Calls alone.
	Duration time.Duration `yaml:"duration"`
}

// Expect is what the run must show. Shares are fractions of all calls, written as percentages ("100%", "≥ 90%" as ">=90%").
// Quote shares and bounds that start with ">": in YAML a bare > starts a folded block.
type Expect struct {
	// Codes maps a gRPC code name (PERMISSION_DENIED, OK; spelled as reason.CodeName spells it) to the share of calls expected with it.
	Codes map[string]string `yaml:"codes"`
	// Reasons maps a reason of reason.Catalog (GRANT_EXPIRED) to its expected share.
	Reasons map[string]string `yaml:"reasons"`
	// Latency maps a percentile (p50, p99, p99.9; see ParsePercentile) to a bound ("<500ms").
	Latency map[string]string `yaml:"latency"`

	// Diagnoses maps a diagnosed cause of failed calls to a user's service
	// (topology external; e.g. token-expired) to its expected share of all calls.
	Diagnoses map[string]string `yaml:"diagnoses"`
	// Measurements is "agree" (every figure of Measure agrees with the
	// target config's declaration) or "measured" (every one was measured).
	Measurements string `yaml:"measurements"`

	// CodeShares, ReasonShares, DiagnosisShares and LatencyBounds are
	// Codes, Reasons, Diagnoses and Latency parsed, under the same keys.
	CodeShares      map[string]Share `yaml:"-"`
	ReasonShares    map[string]Share `yaml:"-"`
	DiagnosisShares map[string]Share `yaml:"-"`
	LatencyBounds   map[string]Bound `yaml:"-"`
}

// Causes are the error causes of the seed articles; every one has at least one library scenario.
var Causes = []string{
	"jit-window-expired",
	"token-missing",
	"token-invalid",
	"approval-policy-misconfigured",
	"credentials-missing",
	"tokens-not-propagated",
	"credentials-interceptor-missing",
	"deadline-too-short-for-approval",
	"retries-do-not-extend-deadline",
	"signing-algorithm-mismatch",
	"malformed-token-encoding",
	"clock-drift",
}
