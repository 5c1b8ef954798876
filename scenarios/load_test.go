package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBadFixtures(t *testing.T) {
	tests := map[string]string{
		"alias.yaml":                      "7:10: aliases (*t) are not supported in scenario files: write the value out",
		"approval_without_reviewer.yaml":  "4:3: an approval fault scripts the reviewer, so it needs broker.approval: reviewer (auto-approval would decide first)",
		"bad_algorithm.yaml":              `4:23: unknown algorithm "ES512" in service.algorithms: want EdDSA, ES256, RS256 or HS256`,
		"bad_duration.yaml":               `4:13: bad duration "2 minutes" for client.deadline: write a number and a unit, such as 300ms, 30s, 2m or 1h30m`,
		"bad_latency_bound.yaml":          `5:10: expect.latency.p99: bad latency bound "500ms": write a comparison and a duration, such as <500ms, <=2s or ">1s"`,
		"bad_method.yaml":                 `4:11: client.method "Read" is not a full method name such as /demo.v1.Vault/Read`,
		"bad_percentage_over.yaml":        `5:24: expect.codes.PERMISSION_DENIED: bad percentage "120%": a share is between 0% and 100% of the calls`,
		"bad_percentage_word.yaml":        `5:20: expect.reasons.GRANT_EXPIRED: bad percentage "abc": write a share of calls such as 100%, 90%, ">=90%" or "<=5%"`,
		"bad_percentile.yaml":             `5:5: unknown latency percentile "median": write p50, p90, p99, p99.9 or p100`,
		"bad_tag.yaml":                    `3:15: tag "permission denied" must be kebab-case, such as permission-denied`,
		"calls_not_number.yaml":           `4:10: load.calls must be a whole number, got "ten"`,
		"duplicate_key.yaml":              "5:3: calls appears twice in load",
		"empty.yaml":                      "1:1: empty file: a scenario needs name, summary and expect",
		"explain_bad_share.yaml":          `7:52: explain template: .Share "DENIED" names neither a gRPC code nor a reason`,
		"explain_share_without_name.yaml": `8:17: explain template: .Share takes one name and must come first in its action, as in {{.Share "NAME"}}`,
		"explain_syntax.yaml":             "10:1: explain template: unexpected EOF",
		"explain_unknown_figure.yaml": "8:27: explain template: unknown figure .Skew (did you mean .SkewSeen?); figures: .Calls, .Codes, .Reasons, " +
			".Share, .P50, .P99, .Deadline, .ApprovalWait, .SkewSeen, .TokenAge, .ExpiredAgo, .Leeway, .OfferedAlg, .AcceptedAlgs, .Meta, .Diagnosis, .Fix, .Measurements",
		"fault_bad_param.yaml":         `5:5: clock-skew: unknown target "moon": want client, service or broker`,
		"fault_bad_start.yaml":         `5:12: bad duration "soon" for start: write a number and a unit, such as 300ms, 30s, 2m or 1h30m`,
		"fault_without_kind.yaml":      "4:5: a fault needs a kind, such as kind: clock-skew",
		"grant_ttl_too_short.yaml":     "4:14: broker.grant_ttl 500ms is shorter than the broker's minimum grant of 1s",
		"missing_expect.yaml":          "1:1: expect is missing: say which share of calls must end with which codes or reasons, or a latency bound",
		"missing_name.yaml":            "1:1: name is missing: give the scenario a kebab-case name, its file name without .yaml",
		"missing_summary.yaml":         "1:1: summary is missing: say in one sentence what goes wrong",
		"name_not_kebab.yaml":          `1:7: name "Clock_Drift" must be kebab-case: lower-case letters and digits joined by single dashes`,
		"negative_duration.yaml":       "4:14: broker.grant_ttl must not be negative, got -1m",
		"not_a_mapping.yaml":           "1:1: a scenario file is a mapping with name, summary and expect, got a list",
		"reason_contradicts_code.yaml": "7:5: GRANT_EXPIRED is a PERMISSION_DENIED reason: expecting it on 100% of the calls contradicts PERMISSION_DENIED on at most 0%",
		"service_not_mapping.yaml":     "3:10: service must be a mapping of keys, got a list",
		"shares_over_100.yaml":         "5:5: the code shares add up to at least 110% of the calls, but each call ends with one code: they cannot all hold",
		"syntax.yaml":                  "4:7: did not find expected ',' or ']' (while parsing a flow sequence)",
		"tags_not_list.yaml":           `3:7: tags must be a list such as [a, b], got "clock"`,
		"two_documents.yaml":           "6:1: more than one YAML document (---): a scenario file holds one scenario",
		"unknown_cause.yaml": `3:8: unknown cause "clock-drfit" (did you mean "clock-drift"?); causes: jit-window-expired, token-missing, ` +
			"token-invalid, approval-policy-misconfigured, credentials-missing, tokens-not-propagated, credentials-interceptor-missing, " +
			"deadline-too-short-for-approval, retries-do-not-extend-deadline, signing-algorithm-mismatch, malformed-token-encoding, clock-drift",
		"unknown_code.yaml": `5:5: unknown code "PERMISION_DENIED" in expect.codes (did you mean "PERMISSION_DENIED"?): ` +
			"want a gRPC code in SCREAMING_SNAKE_CASE, such as PERMISSION_DENIED or OK",
		"unknown_fault_kind.yaml": `7:5: unknown fault kind "clock-skw"; kinds: clock-skew, token-mutation, approval, broker-down, network, ` +
			"credentials-missing, tokens-not-propagated, stream-interceptor-missing, verifier-algorithms, verifier-wrong-key, " +
			"short-deadline, retry-without-deadline-extension, revoke, key-rotation, broker-restart, container-pause, container-kill, network-partition, " +
			"grpc-fault, key-source",
		"unknown_key.yaml": `6:1: unknown key "explian" in the scenario (did you mean "explain"?); known keys: name, summary, tags, ` +
			"cause, topology, seed, service, broker, client, faults, load, measure, expect, explain",
		"unknown_nested_key.yaml": `4:3: unknown key "leway" in service (did you mean "leeway"?); known keys: leeway, algorithms, ` +
			"max_grant_lifetime, revocation_mode, max_staleness",
		"unknown_reason.yaml": `7:5: unknown reason "GRANT_EXPIRD" in expect.reasons (did you mean "GRANT_EXPIRED"?): ` +
			"want a reason of the reference catalog (the reason table of docs/jit-model.md), such as GRANT_EXPIRED",
		"unknown_topology.yaml": `3:11: unknown topology "kubernetes": want inprocess, tcp, container or external`,
		"unquoted_at_least.yaml": "5:25: did not find expected comment or line break (while scanning a block scalar): " +
			`a value starting with > or | begins a block of text; quote shares and bounds such as ">=90%"`,
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		assert.Contains(t, tests, filepath.Base(f), "fixture without an expected error")
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", name)
			_, err := Load(path, LoadOptions{ValidateFault: stubValidator})
			require.Error(t, err)
			assert.Equal(t, path+":"+want, err.Error())
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, path, e.File)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("min.yaml", []byte("name: min\nsummary: The least a scenario says.\nexpect:\n  codes: {OK: 100%}\n"), LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, &Scenario{
		Name:     "min",
		Summary:  "The least a scenario says.",
		Topology: "inprocess",
		Service: Service{Leeway: 30 * time.Second, Algorithms: []string{"EdDSA", "ES256"}, MaxGrantLifetime: time.Hour,
			RevocationMode: "strict", MaxStaleness: 15 * time.Second},
		Broker: Broker{Approval: "auto", AutoApprove: time.Millisecond, Algorithm: "EdDSA", GrantTTL: 5 * time.Minute,
			PolicyMethods: []string{"/demo.v1.Vault/*"}},
		Client: Client{Subject: "alice", Method: "/demo.v1.Vault/Read", Resource: "secrets/db/password", Deadline: 2 * time.Second,
			Grants: "broker", GrantScope: []string{"/demo.v1.Vault/Read"}, GrantResource: "secrets/*"},
		Load: LoadProfile{Calls: 20, Concurrency: 1},
		Expect: Expect{
			Codes:      map[string]string{"OK": "100%"},
			CodeShares: map[string]Share{"OK": {Op: OpEq, Fraction: 1, Raw: "100%"}},
		},
		File: "min.yaml",
	}, s)
}

const fullScenario = `name: full
summary: Every key set.
tags: [clock, seed]
cause: clock-drift
topology: tcp
seed: 42
service:
  leeway: 10s
  algorithms: [EdDSA]
  max_grant_lifetime: 30m
  revocation_mode: best_effort
  max_staleness: 5s
broker:
  approval: reviewer
  auto_approve: 5ms
  algorithm: ES256
  grant_ttl: 2m
  policy_methods: [/demo.v1.Vault/Read]
client:
  subject: bob
  method: /demo.v1.Vault/List
  resource: secrets/
  deadline: 250ms
  grants: minted
  grant_scope: [/demo.v1.Vault/*]
  grant_resource: secrets/db/*
faults:
  - kind: clock-skew
    start: 100ms
    duration: 1s
    target: broker
    offset: -2m
  - kind: approval
    behaviour: flaky
    deny_share: 50%
    after: 10ms
    nested: {list: [1, two], flag: true}
load:
  calls: 8
  concurrency: 2
  interval: 50ms
expect:
  codes:
    PERMISSION_DENIED: ">=90%"
    OK: <=10%
  reasons:
    GRANT_NOT_YET_VALID: ≥ 90%
  latency:
    p99.9: <2s
explain: "{{.Share \"OK\"}} of {{.Calls}}"
`

func TestParseFull(t *testing.T) {
	s, err := Parse("full.yaml", []byte(fullScenario), LoadOptions{ValidateFault: stubValidator})
	require.NoError(t, err)
	assert.Equal(t, &Scenario{
		Name: "full", Summary: "Every key set.", Tags: []string{"clock", "seed"}, Cause: "clock-drift", Topology: "tcp", Seed: 42,
		Service: Service{Leeway: 10 * time.Second, Algorithms: []string{"EdDSA"}, MaxGrantLifetime: 30 * time.Minute,
			RevocationMode: "best_effort", MaxStaleness: 5 * time.Second},
		Broker: Broker{Approval: "reviewer", AutoApprove: 5 * time.Millisecond, Algorithm: "ES256", GrantTTL: 2 * time.Minute,
			PolicyMethods: []string{"/demo.v1.Vault/Read"}},
		Client: Client{Subject: "bob", Method: "/demo.v1.Vault/List", Resource: "secrets/", Deadline: 250 * time.Millisecond,
			Grants: "minted", GrantScope: []string{"/demo.v1.Vault/*"}, GrantResource: "secrets/db/*"},
		Faults: []Fault{
			{Kind: "clock-skew", Start: 100 * time.Millisecond, Duration: time.Second,
				Params: map[string]any{"target": "broker", "offset": "-2m"}, Line: 28, Column: 5},
			{Kind: "approval", Params: map[string]any{"behaviour": "flaky", "deny_share": "50%", "after": "10ms",
				"nested": map[string]any{"list": []any{1, "two"}, "flag": true}}, Line: 33, Column: 5},
		},
		Load: LoadProfile{Calls: 8, Concurrency: 2, Interval: 50 * time.Millisecond},
		Expect: Expect{
			Codes:   map[string]string{"PERMISSION_DENIED": ">=90%", "OK": "<=10%"},
			Reasons: map[string]string{"GRANT_NOT_YET_VALID": "≥ 90%"},
			Latency: map[string]string{"p99.9": "<2s"},
			CodeShares: map[string]Share{
				"PERMISSION_DENIED": {Op: OpGE, Fraction: 0.9, Raw: ">=90%"},
				"OK":                {Op: OpLE, Fraction: 0.1, Raw: "<=10%"},
			},
			ReasonShares:  map[string]Share{"GRANT_NOT_YET_VALID": {Op: OpGE, Fraction: 0.9, Raw: "≥ 90%"}},
			LatencyBounds: map[string]Bound{"p99.9": {Op: OpLT, Duration: 2 * time.Second, Raw: "<2s"}},
		},
		Explain: `{{.Share "OK"}} of {{.Calls}}`,
		File:    "full.yaml",
	}, s)
}

func TestParseFaultWithoutParamsHasEmptyParams(t *testing.T) {
	s, err := Parse("f.yaml", []byte("name: f\nsummary: s\nfaults: [{kind: revoke}]\nexpect: {codes: {OK: 100%}}\n"), LoadOptions{})
	require.NoError(t, err)
	require.Len(t, s.Faults, 1)
	assert.NotNil(t, s.Faults[0].Params)
	assert.Empty(t, s.Faults[0].Params)
}

func TestParseWithoutValidatorAcceptsAnyKind(t *testing.T) {
	_, err := Parse("f.yaml", []byte("name: f\nsummary: s\nfaults: [{kind: made-up, x: 1}]\nexpect: {codes: {OK: 100%}}\n"), LoadOptions{})
	assert.NoError(t, err)
}

func TestParseValidatorErrorWithoutParamPointsAtFault(t *testing.T) {
	validate := func(string, map[string]any) error { return errors.New("no") }
	_, err := Parse("f.yaml", []byte("name: f\nsummary: s\nfaults:\n  - kind: revoke\n    when: now\nexpect: {codes: {OK: 100%}}\n"),
		LoadOptions{ValidateFault: validate})
	assert.EqualError(t, err, "f.yaml:4:5: no")
}

func TestParseLibraryNameMustMatchFile(t *testing.T) {
	data := []byte("name: other\nsummary: s\nexpect: {codes: {OK: 100%}}\n")
	_, err := Parse("scenarios/library/clock.yaml", data, LoadOptions{library: true})
	assert.EqualError(t, err, `scenarios/library/clock.yaml:1:7: name "other" differs from the file name "clock": a library scenario is named after its file`)
	_, err = Parse("mine.yaml", data, LoadOptions{})
	assert.NoError(t, err, "only library files are named after their file")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), LoadOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.NotErrorIs(t, err, ErrInvalid, "a missing file is not a bad file")
}

func TestParseNullSectionsAreEmpty(t *testing.T) {
	s, err := Parse("n.yaml", []byte("name: n\nsummary: s\nservice:\nbroker: ~\ntags:\nexpect: {codes: {OK: 100%}}\n"), LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, s.Service.Leeway)
	assert.Empty(t, s.Tags)
}

// TestLoadRefusesAFileOverItsSizeCap: a wrong path (/dev/zero, a log) is
// one line, read no further than the cap, never an out-of-memory crash.
func TestLoadRefusesAFileOverItsSizeCap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(big, []byte("name: x\n#"+strings.Repeat("x", 1<<20)), 0o600))
	_, err := Load(big, LoadOptions{})
	require.Error(t, err)
	assert.Equal(t, "scenario: "+big+": the scenario file is larger than 1 MiB, its size limit", err.Error())

	if _, statErr := os.Stat("/dev/zero"); statErr == nil {
		_, err = Load("/dev/zero", LoadOptions{})
		assert.EqualError(t, err, "scenario: /dev/zero: the scenario file is larger than 1 MiB, its size limit")
	}

	_, err = Parse("big.yaml", make([]byte, 1<<20+1), LoadOptions{})
	assert.EqualError(t, err, "big.yaml:1:1: the scenario file is larger than 1 MiB, its size limit")
	assert.ErrorIs(t, err, ErrInvalid)
}
