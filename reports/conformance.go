package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jitbench/jitbench/reference/filecap"
)

// ConformanceSchema names the version of the conformance result format;
// ReadConformance refuses any other value.
const ConformanceSchema = "jitbench.conformance/v1"

// CaseVerdict is how one conformance case ended.
type CaseVerdict string

// The verdicts of a conformance case.
const (
	// CasePass: every variant got an allowed code and broke no rule.
	CasePass CaseVerdict = "pass"
	// CaseFail: a variant got a code outside the allowed ones or broke a rule.
	CaseFail CaseVerdict = "fail"
	// CaseSkip: the case needs something the target's config does not offer.
	CaseSkip CaseVerdict = "skip"
	// CaseKnownFail: the case failed and is on the known-failing list.
	CaseKnownFail CaseVerdict = "known-fail"
	// CaseNotApplicable: the case does not exist in the target's profile.
	CaseNotApplicable CaseVerdict = "n/a"
)

// verdicts lists every verdict, in the order summaries count them.
var verdicts = []CaseVerdict{CasePass, CaseFail, CaseSkip, CaseKnownFail, CaseNotApplicable}

// ConformanceResult is what one conformance run against a target found:
// one entry per catalog case, in catalog order.
type ConformanceResult struct {
	// Schema is always ConformanceSchema.
	Schema string `json:"schema"`
	// Target is the address of the service under test.
	Target string `json:"target"`
	// Profile is "two-token" or "single-token".
	Profile string `json:"profile"`
	// Method is the protected method the cases call.
	Method string `json:"method"`
	// Start is when the run began; Duration how long it took.
	Start    time.Time `json:"start"`
	Duration Duration  `json:"duration"`
	// Version is the jitbench version that ran the suite.
	Version string `json:"jitbench_version,omitempty"`
	// Notes say what the run could not observe (handler runs of a black-box target, say).
	Notes []string `json:"notes,omitempty"`
	// Cases are the catalog's cases, in catalog order.
	Cases []ConformanceCase `json:"cases"`
}

// ConformanceCase is the outcome of one catalog case.
type ConformanceCase struct {
	// ID is the catalog id, e.g. "ALG-001".
	ID string `json:"id"`
	// Fault says what the case does to the call.
	Fault string `json:"fault"`
	// Want is the code the catalog expects under the run's profile; Also the codes allowed instead.
	Want string   `json:"want,omitempty"`
	Also []string `json:"also,omitempty"`
	// Got, Reason and Message are the answer of the deciding variant (the
	// first failing one, else the first): code name, ErrorInfo reason and
	// status message, the message with anything token-like redacted.
	Got     string `json:"got,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Latency is the deciding variant's latency.
	Latency Duration `json:"latency"`
	// Verdict is how the case ended.
	Verdict CaseVerdict `json:"verdict"`
	// Rule names the first rule a failing case broke ("expected-code", "never-ok", ...).
	Rule string `json:"rule,omitempty"`
	// Detail says, in words, why the case failed or was skipped.
	Detail string `json:"detail,omitempty"`
	// Variants are the case's spellings (ALG-001's none, None, NONE, nOnE), each with its own answer.
	Variants []ConformanceVariant `json:"variants,omitempty"`
}

// ConformanceVariant is the answer to one spelling of a case.
type ConformanceVariant struct {
	// Name is the variant, e.g. "nOnE".
	Name string `json:"name"`
	// Got, Reason and Message are the answer, the message redacted.
	Got     string `json:"got,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Latency is how long the call took.
	Latency Duration `json:"latency"`
	// Pass says whether the variant broke no rule; Skipped that it did not run (Detail says why).
	Pass    bool `json:"pass"`
	Skipped bool `json:"skipped,omitempty"`
	// Rules are the rules the variant broke, in the order they are checked.
	Rules []string `json:"rules,omitempty"`
	// Detail says what went wrong or why the variant did not run.
	Detail string `json:"detail,omitempty"`
}

// ConformanceSummary counts a run's cases by verdict.
type ConformanceSummary struct {
	// Total is the number of cases.
	Total int `json:"total"`
	// Passed, Failed, Skipped, KnownFailing and NotApplicable count each verdict.
	Passed        int `json:"passed"`
	Failed        int `json:"failed"`
	Skipped       int `json:"skipped"`
	KnownFailing  int `json:"known_failing"`
	NotApplicable int `json:"not_applicable"`
}

// Summary counts r's cases by verdict.
func (r *ConformanceResult) Summary() ConformanceSummary {
	s := ConformanceSummary{Total: len(r.Cases)}
	for _, c := range r.Cases {
		switch c.Verdict {
		case CasePass:
			s.Passed++
		case CaseFail:
			s.Failed++
		case CaseSkip:
			s.Skipped++
		case CaseKnownFail:
			s.KnownFailing++
		case CaseNotApplicable:
			s.NotApplicable++
		}
	}
	return s
}

// Failed reports whether any case failed: what makes a CI job fail.
func (r *ConformanceResult) Failed() bool { return r.Summary().Failed > 0 }

// ConformanceRuleSetup is the rule of a case the harness could not stage
// (a broker that did not approve, a hook that failed): skipped, and an error of the run.
const ConformanceRuleSetup = "setup"

// SetupErrors lists the cases the harness could not stage, as "SCP-003:
// why"; a run with any proved nothing about them and is an error, never a pass.
func (r *ConformanceResult) SetupErrors() []string {
	var out []string
	for _, c := range r.Cases {
		if c.Verdict == CaseSkip && c.Rule == ConformanceRuleSetup {
			out = append(out, c.ID+": "+strings.TrimPrefix(c.Detail, "setup failed: "))
		}
	}
	return out
}

// conformanceVerdict is the run's verdict in one word and, for a setup
// failure, what failed: "PASS", "FAIL" or "ERROR: setup failed: ...".
func conformanceVerdict(r *ConformanceResult) string {
	switch errs := r.SetupErrors(); {
	case len(errs) > 0:
		return "ERROR: setup failed: " + strings.Join(errs, "; ")
	case r.Failed():
		return "FAIL"
	}
	return "PASS"
}

// String is the summary in one line: "42 cases: 38 passed, 1 failed, 3 skipped, ...".
func (s ConformanceSummary) String() string {
	return fmt.Sprintf("%d cases: %d passed, %d failed, %d skipped, %d known failing, %d not applicable",
		s.Total, s.Passed, s.Failed, s.Skipped, s.KnownFailing, s.NotApplicable)
}

// conformanceJSON is the document: the result and its summary, which is
// derived and written for people and jq, and ignored on reading.
type conformanceJSON struct {
	*ConformanceResult
	Summary ConformanceSummary `json:"summary"`
}

// WriteConformance writes r as indented JSON, the format ReadConformance reads.
func WriteConformance(w io.Writer, r *ConformanceResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(conformanceJSON{ConformanceResult: r, Summary: r.Summary()})
}

// ErrNotConformance is wrapped by ReadConformance's errors for input that is not a conformance result.
var ErrNotConformance = errors.New("not a jitbench conformance result")

// ReadConformance reads a result written by WriteConformance. Input that
// is not JSON, of another schema, or holds a case with an unknown verdict
// is an error that says which.
func ReadConformance(r io.Reader) (*ConformanceResult, error) {
	data, err := io.ReadAll(io.LimitReader(r, filecap.Result.Bytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the conformance result: %w", err)
	}
	if int64(len(data)) > filecap.Result.Bytes {
		return nil, fmt.Errorf("%w: larger than %s, the result file's size limit", ErrNotConformance, filecap.Size(filecap.Result.Bytes))
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the input is empty", ErrNotConformance)
	}
	res := new(ConformanceResult)
	if err := json.Unmarshal(data, res); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotConformance, describeJSONError(err))
	}
	if res.Schema != ConformanceSchema {
		return nil, fmt.Errorf("%w: schema %q, want %q", ErrNotConformance, res.Schema, ConformanceSchema)
	}
	for _, c := range res.Cases {
		if !slices.Contains(verdicts, c.Verdict) {
			return nil, fmt.Errorf("%w: case %s has the unknown verdict %q", ErrNotConformance, c.ID, c.Verdict)
		}
	}
	return res, nil
}

// conformanceRenderers are the formats RenderConformance knows, by the name the CLI takes.
var conformanceRenderers = map[string]func(io.Writer, *ConformanceResult) error{
	"text":  WriteConformanceText,
	"md":    WriteConformanceMarkdown,
	"junit": WriteConformanceJUnit,
	"json":  WriteConformance,
}

// ConformanceFormats returns the names RenderConformance accepts, sorted.
func ConformanceFormats() []string { return sortedKeys(conformanceRenderers) }

// RenderConformance writes r to w in format: text, md, junit or json.
func RenderConformance(w io.Writer, r *ConformanceResult, format string) error {
	render, ok := conformanceRenderers[format]
	if !ok {
		return fmt.Errorf("unknown conformance report format %q (want one of %s)", format, strings.Join(ConformanceFormats(), ", "))
	}
	return render(w, r)
}
