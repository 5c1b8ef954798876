package scenarios

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/filecap"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

// LoadOptions configures loading.
type LoadOptions struct {
	// ValidateFault checks a fault's kind and parameters (the harness passes
	// the fakes registry's validator; this package cannot know the kinds).
	// Its error is reported at the fault, or at the parameter a ParamError
	// names. Nil accepts every kebab-case kind with any parameters.
	ValidateFault func(kind string, params map[string]any) error

	// ParseRate reads load.rate into calls per second (the harness passes
	// its load generator's parser; this package does not know the rate
	// syntax). Its error is reported at the rate. Nil accepts any rate.
	ParseRate func(rate string) (perSecond float64, err error)

	// Holds names what a fault of kind takes whole while its window is open
	// (the harness passes the fakes registry's), "" when its faults add
	// layers that compose: two faults that hold the same thing must not
	// overlap. Nil lets every fault overlap.
	Holds func(kind string) string

	// Diagnoses are the causes expect.diagnoses may name, and Measurements
	// the names measure may list (the harness passes its own); nil accepts
	// any kebab-case name.
	Diagnoses, Measurements []string

	// library requires the name to equal the file's base name.
	library bool
}

// Load reads and parses the scenario file at path; see Parse. A file
// larger than filecap.Scenario (1 MiB) is refused unread beyond the cap, so
// a wrong path (/dev/zero, a log) is one line, not an out-of-memory crash.
func Load(path string, opts LoadOptions) (*Scenario, error) {
	data, err := filecap.ReadFile(path, filecap.Scenario)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data, opts)
}

// Parse reads a scenario from data strictly and fills the defaults; file
// names it in errors. Every refusal is an *Error at FILE:LINE:COL of the
// offending node: an unknown key, a value of the wrong kind, a bad
// duration, share or latency bound, an unknown code, reason, cause,
// topology or algorithm, shares that cannot all hold, a missing name,
// summary or expect, an explain template naming an unknown figure, or a
// fault the validator refuses.
func Parse(file string, data []byte, opts LoadOptions) (*Scenario, error) {
	if int64(len(data)) > filecap.Scenario.Bytes {
		return nil, &Error{File: file, Line: 1, Column: 1, Err: ErrInvalid,
			Msg: fmt.Sprintf("the %s is larger than %s, its size limit", filecap.Scenario.Kind, filecap.Size(filecap.Scenario.Bytes))}
	}
	d := &decoder{
		Reader:         yamlfile.Reader{File: file, Err: ErrInvalid, Kind: "scenario files", Hints: true},
		lines:          strings.Split(string(data), "\n"),
		validateParams: opts.ValidateFault,
		diagnoses:      opts.Diagnoses,
		measurements:   opts.Measurements,
	}
	root, err := d.Load(data, maxDepth, d.reword)
	if err != nil {
		return nil, err
	}
	s, err := d.scenario(root)
	if err != nil {
		return nil, err
	}
	if err := d.crossChecks(root, s, opts); err != nil {
		return nil, err
	}
	s.applyDefaults()
	return s, nil
}

// crossChecks are the rules that span sections.
func (d *decoder) crossChecks(root *yaml.Node, s *Scenario, opts LoadOptions) error {
	if opts.library {
		if base := strings.TrimSuffix(filepath.Base(d.File), ".yaml"); s.Name != base {
			return d.At(mapValue(root, "name"), "name %q differs from the file name %q: a library scenario is named after its file", s.Name, base)
		}
	}
	if err := d.checkRate(root, s, opts); err != nil {
		return err
	}
	if err := d.checkExternal(root, s); err != nil {
		return err
	}
	if err := d.checkWindows(root, s, opts); err != nil {
		return err
	}
	if s.Broker.Approval != "reviewer" && slices.ContainsFunc(s.Faults, func(f Fault) bool { return f.Kind == "approval" }) {
		at := mapValue(mapValue(root, "broker"), "approval")
		if at == nil {
			at = mapValue(root, "faults")
		}
		return d.At(at, "an approval fault scripts the reviewer, so it needs broker.approval: reviewer (auto-approval would decide first)")
	}
	return nil
}

// checkExternal refuses what only a user's service has on another
// topology: diagnoses and measurements are told from outside the service.
func (d *decoder) checkExternal(root *yaml.Node, s *Scenario) error {
	if s.Topology == "external" {
		if s.Expect.Measurements != "" && len(s.Measure) == 0 {
			return d.At(mapValue(mapValue(root, "expect"), "measurements"), "expect.measurements checks the figures of measure, which lists none")
		}
		return nil
	}
	why := "needs topology: external: it is told for your own service (jitbench run --target)"
	switch {
	case len(s.Measure) > 0:
		return d.At(mapValue(root, "measure"), "measure %s", why)
	case len(s.Expect.Diagnoses) > 0:
		return d.At(mapValue(mapValue(root, "expect"), "diagnoses"), "expect.diagnoses %s", why)
	case s.Expect.Measurements != "":
		return d.At(mapValue(mapValue(root, "expect"), "measurements"), "expect.measurements %s", why)
	}
	return nil
}

// checkRate reads load.rate with opts.ParseRate: it must parse, send
// calls, and not ask for more calls than a scenario may make.
func (d *decoder) checkRate(root *yaml.Node, s *Scenario, opts LoadOptions) error {
	if s.Load.Rate == "" || opts.ParseRate == nil {
		return nil
	}
	at := mapValue(mapValue(root, "load"), "rate")
	perSecond, err := opts.ParseRate(s.Load.Rate)
	switch {
	case err != nil:
		return d.At(at, "load.rate: %v", err)
	case perSecond <= 0:
		return d.At(at, "load.rate %q sends no calls: write a positive rate such as 50/s", s.Load.Rate)
	case s.Load.Calls == 0 && perSecond*s.Load.Duration.Seconds() > maxCalls:
		return d.At(at, "load.rate %s for load.duration %s makes more than %d calls: lower one, or set load.calls",
			s.Load.Rate, s.Load.Duration, maxCalls)
	}
	return nil
}

// mapValue returns the value node under key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// maxDepth bounds nesting: a scenario is a few levels deep, and the check
// must not recurse without limit on a hostile file.
const maxDepth = 64

// reword says a syntax error in the words of a scenario file.
func (d *decoder) reword(e *Error) {
	switch {
	case strings.HasSuffix(e.Msg, "(while scanning a block scalar)"):
		e.Msg += `: a value starting with > or | begins a block of text; quote shares and bounds such as ">=90%"`
	case e.Msg == "no documents in stream":
		e.Msg = "empty file: a scenario needs name, summary and expect"
	case e.Msg == "expected single document, found multiple":
		e.Msg = "more than one YAML document (---): a scenario file holds one scenario"
		e.Line = d.secondDocument()
	}
}

// secondDocument finds the line of the "---" that starts a second document
// (the yaml package gives no position for it), or 1.
func (d *decoder) secondDocument() int {
	content := false
	for i, l := range d.lines {
		if l == "---" || strings.HasPrefix(l, "--- ") {
			if content {
				return i + 1
			}
			continue
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			content = true
		}
	}
	return 1
}
