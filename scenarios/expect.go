package scenarios

import (
	"maps"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

// expect reads the expect block: the shares of codes and reasons, and the
// latency bounds, each parsed and checked against the vocabulary the
// harness counts outcomes in, and the shares checked for being possible
// together.
func (d *decoder) expect(n *yaml.Node) (Expect, error) {
	var e Expect
	var codesNode, reasonsNode, diagnosesNode *yaml.Node
	err := d.Mapping(n, "expect", []yamlfile.Field{
		{Name: "codes", Read: func(_, v *yaml.Node) (err error) {
			codesNode = v
			e.Codes, e.CodeShares, err = d.shares(v, "expect.codes", "code", isCode, codeNames,
				"a gRPC code in SCREAMING_SNAKE_CASE, such as PERMISSION_DENIED or OK")
			return err
		}},
		{Name: "reasons", Read: func(_, v *yaml.Node) (err error) {
			reasonsNode = v
			e.Reasons, e.ReasonShares, err = d.shares(v, "expect.reasons", "reason", isReason, reasonNames,
				"a reason of the reference catalog (the reason table of docs/jit-model.md), such as GRANT_EXPIRED")
			return err
		}},
		{Name: "diagnoses", Read: func(_, v *yaml.Node) (err error) {
			diagnosesNode = v
			e.Diagnoses, e.DiagnosisShares, err = d.shares(v, "expect.diagnoses", "diagnosis", d.knownDiagnosis, d.diagnoses,
				"a cause jitbench diagnoses, such as token-expired")
			return err
		}},
		{Name: "measurements", Read: func(_, v *yaml.Node) (err error) {
			e.Measurements, err = d.enum(v, "expect.measurements", MeasurementVerdicts)
			return err
		}},
		{Name: "latency", Read: func(_, v *yaml.Node) (err error) { e.Latency, e.LatencyBounds, err = d.latency(v); return err }},
	})
	if err != nil {
		return e, err
	}
	if err := d.sharesPossible(codesNode, e.CodeShares, "code"); err != nil {
		return e, err
	}
	if err := d.sharesPossible(reasonsNode, e.ReasonShares, "reason"); err != nil {
		return e, err
	}
	if err := d.sharesPossible(diagnosesNode, e.DiagnosisShares, "diagnosis"); err != nil {
		return e, err
	}
	return e, d.reasonsAgreeWithCodes(reasonsNode, e)
}

// knownDiagnosis reports whether name is a cause the harness diagnoses
// (LoadOptions.Diagnoses); without the list, any kebab-case name.
func (d *decoder) knownDiagnosis(name string) bool {
	if d.diagnoses == nil {
		return kebab.MatchString(name)
	}
	return slices.Contains(d.diagnoses, name)
}

// shares reads a mapping of names to shares; noun, known, names and want say which names exist.
func (d *decoder) shares(n *yaml.Node, where, noun string, known func(string) bool, names []string, want string) (map[string]string, map[string]Share, error) {
	pairs, err := d.Pairs(n, where)
	if err != nil || len(pairs) == 0 {
		return nil, nil, err
	}
	raw := make(map[string]string, len(pairs))
	parsed := make(map[string]Share, len(pairs))
	for _, p := range pairs {
		key, val := p[0], p[1]
		if !known(key.Value) {
			return nil, nil, d.At(key, "unknown %s %q in %s%s: want %s", noun, key.Value, where, yamlfile.DidYouMean(key.Value, names), want)
		}
		text, err := d.Str(val, where+"."+key.Value)
		if err != nil {
			return nil, nil, err
		}
		sh, err := ParseShare(text)
		if err != nil {
			return nil, nil, d.At(val, "%s.%s: %v", where, key.Value, err)
		}
		raw[key.Value], parsed[key.Value] = text, sh
	}
	return raw, parsed, nil
}

// sharesPossible refuses shares whose least total is above every call:
// each call ends with one code and at most one reason.
func (d *decoder) sharesPossible(n *yaml.Node, shares map[string]Share, what string) error {
	var least float64
	for _, s := range shares {
		least += s.Min()
	}
	if least > 1+shareEpsilon {
		return d.At(n, "the %s shares add up to at least %s of the calls, but each call ends with one %s: they cannot all hold",
			what, percent(least), what)
	}
	return nil
}

// reasonsAgreeWithCodes refuses a reason expected more often than its own
// code may occur: GRANT_EXPIRED on every call, say, with PERMISSION_DENIED
// on none. A code not listed beside codes whose exact shares make 100% may
// not occur at all.
func (d *decoder) reasonsAgreeWithCodes(n *yaml.Node, e Expect) error {
	if len(e.CodeShares) == 0 {
		return nil
	}
	var exact float64
	allExact := true
	for _, s := range e.CodeShares {
		exact += s.Fraction
		allExact = allExact && s.Op == OpEq
	}
	closed := allExact && exact > 1-shareEpsilon
	// Sorted, so a file with two contradictions reports the same one every time.
	for _, p := range slices.Sorted(maps.Keys(e.ReasonShares)) {
		rs := e.ReasonShares[p]
		code := reason.CodeName(reason.Reason(p).Code())
		most := 1.0
		if cs, ok := e.CodeShares[code]; ok {
			most = cs.Max()
		} else if closed {
			most = 0
		}
		if rs.Min() > most+shareEpsilon {
			return d.At(keyNode(n, p), "%s is a %s reason: expecting it on %s of the calls contradicts %s on at most %s",
				p, code, rs.Raw, code, percent(most))
		}
	}
	return nil
}

// latency reads the latency bounds, keyed by percentile.
func (d *decoder) latency(n *yaml.Node) (map[string]string, map[string]Bound, error) {
	pairs, err := d.Pairs(n, "expect.latency")
	if err != nil || len(pairs) == 0 {
		return nil, nil, err
	}
	raw := make(map[string]string, len(pairs))
	parsed := make(map[string]Bound, len(pairs))
	for _, p := range pairs {
		key, val := p[0], p[1]
		if _, err := ParsePercentile(key.Value); err != nil {
			return nil, nil, d.At(key, "%v", err)
		}
		text, err := d.Str(val, "expect.latency."+key.Value)
		if err != nil {
			return nil, nil, err
		}
		b, err := ParseBound(text)
		if err != nil {
			return nil, nil, d.At(val, "expect.latency.%s: %v", key.Value, err)
		}
		raw[key.Value], parsed[key.Value] = text, b
	}
	return raw, parsed, nil
}

// keyNode returns the key node named name in mapping n, or n itself.
func keyNode(n *yaml.Node, name string) *yaml.Node {
	for i := 0; n != nil && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i]
		}
	}
	return n
}

// percent spells a fraction as a percentage: 0.875 is "87.5%".
func percent(f float64) string {
	return strconv.FormatFloat(float64(int64(f*1000+0.5))/10, 'f', -1, 64) + "%"
}
