package proxy

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// Spec describes one fault: its kind, where it applies, how often, and
// the kind's params. The flag syntax, the faults file and the control API
// all decode to a Spec.
type Spec struct {
	// Name identifies the fault for Update and Remove; it defaults to the kind.
	Name string `json:"name"`
	// Kind is a registered fault kind: "latency", "abort", ...
	Kind string `json:"kind"`
	// Methods are patterns of the methods (HTTP: paths) the fault applies
	// to, * standing for any run of characters; none means every call.
	Methods []string `json:"methods,omitempty"`
	// Probability is the chance in [0, 1] that the fault applies to one
	// call; nil means 1. Checked specs always have it set.
	Probability *float64 `json:"probability,omitempty"`
	// Params are the kind's settings.
	Params Params `json:"params,omitempty"`
}

// Chance returns p as a Spec's Probability.
func Chance(p float64) *float64 { return &p }

// namePattern is what a fault name may be: it goes into control API paths and metric labels.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Check validates s for a proxy of protocol proto and returns it with
// defaults filled in (name, probability); the error is a *FieldError.
func Check(s Spec, proto Protocol) (Spec, error) {
	_, out, err := build(s, proto)
	return out, err
}

// build checks s and builds its fault.
func build(s Spec, proto Protocol) (Fault, Spec, error) {
	k, err := checkKind(s.Kind, proto)
	if err != nil {
		return nil, s, err
	}
	out := Spec{Name: s.Name, Kind: s.Kind, Methods: slices.Clone(s.Methods), Params: maps.Clone(s.Params)}
	if out.Name == "" {
		out.Name = s.Kind
	}
	if !namePattern.MatchString(out.Name) {
		return nil, s, fieldErr("name", "%q is not a name: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", out.Name)
	}
	for _, p := range out.Methods {
		if msg := checkPattern(p); msg != "" {
			return nil, s, fieldErr("methods", "%q: %s", p, msg)
		}
	}
	prob := 1.0
	if s.Probability != nil {
		prob = *s.Probability
	}
	if math.IsNaN(prob) || prob < 0 || prob > 1 {
		return nil, s, fieldErr("probability", "must be between 0 and 1, got %v", prob)
	}
	out.Probability = &prob
	known := make([]string, len(k.Params))
	for i, p := range k.Params {
		known[i] = p.Name
	}
	for _, key := range slices.Sorted(maps.Keys(out.Params)) {
		if !slices.Contains(known, key) {
			msg := "unknown param of " + k.Name + yamlfile.DidYouMean(key, known)
			if len(known) == 0 {
				msg += " (it takes none)"
			} else {
				msg += "; known: " + strings.Join(known, ", ")
			}
			return nil, s, paramErr(key, "%s", msg)
		}
	}
	if out.Params == nil {
		out.Params = Params{}
	}
	f, err := k.New(out.Params, proto)
	if err != nil {
		return nil, s, err
	}
	return f, out, nil
}

func checkKind(name string, proto Protocol) (Kind, error) {
	if name == "" {
		return Kind{}, fieldErr("kind", "missing; kinds: %s", strings.Join(KindNames(), ", "))
	}
	k, ok := lookupKind(name)
	if !ok {
		return Kind{}, fieldErr("kind", "unknown fault kind %q%s; kinds: %s", name, yamlfile.DidYouMean(name, KindNames()), strings.Join(KindNames(), ", "))
	}
	if k.Protocols&proto == 0 {
		return Kind{}, fieldErr("kind", "%s does not apply to a%s %s proxy (it applies to %s)", name, article(proto), proto, k.Protocols)
	}
	return k, nil
}

func article(p Protocol) string {
	if p == HTTP {
		return "n"
	}
	return ""
}

// ParseSpec reads the --fault flag syntax:
//
//	KIND[:KEY=VALUE[,KEY=VALUE...]]
//
// where the keys name (default: the kind), methods (patterns separated by
// |) and p (or probability, default 1) place the fault, and every other key
// is a param of the kind. A value holding a comma or a quote is written in
// double quotes with Go escapes: message="no, not now". Keys are
// case-sensitive and may appear once. The spec is not checked against its
// kind: Check or Faults.Add do that.
func ParseSpec(text string) (Spec, error) {
	kind, rest, hasParams := strings.Cut(text, ":")
	if kind == "" {
		return Spec{}, fieldErr("kind", "missing: write KIND[:KEY=VALUE,...], such as abort:code=PERMISSION_DENIED,p=0.5")
	}
	if strings.ContainsAny(kind, "=, \t") {
		return Spec{}, fieldErr("kind", "%q is not a kind: write KIND[:KEY=VALUE,...], such as latency:delay=100ms", kind)
	}
	s := Spec{Kind: kind}
	if !hasParams {
		return s, nil
	}
	seen := map[string]bool{}
	for rest != "" {
		key, after, ok := strings.Cut(rest, "=")
		if i := strings.IndexByte(key, ','); i >= 0 || !ok {
			if i >= 0 {
				key = key[:i]
			}
			return Spec{}, fieldErr(key, "has no value: write KEY=VALUE")
		}
		if key == "" {
			return Spec{}, fieldErr("spec", "a KEY=VALUE pair has no key near %q", truncate(rest))
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return Spec{}, specKeyErr(key, "has an unterminated or bad quoted value: %s", truncate(after))
			}
			val, _ = strconv.Unquote(q)
			after = after[len(q):]
			if after != "" && after[0] != ',' {
				return Spec{}, specKeyErr(key, "the quoted value must be followed by a comma or the end, got %s", truncate(after))
			}
		} else if i := strings.IndexByte(after, ','); i >= 0 {
			val, after = after[:i], after[i:]
		} else {
			val, after = after, ""
		}
		rest = strings.TrimPrefix(after, ",")
		if after != "" && rest == "" {
			return Spec{}, fieldErr("spec", "ends with a comma: remove it or add KEY=VALUE")
		}
		canon := key
		if key == "p" {
			canon = "probability"
		}
		if seen[canon] {
			return Spec{}, specKeyErr(key, "given twice")
		}
		seen[canon] = true
		switch canon {
		case "name":
			s.Name = val
		case "kind":
			return Spec{}, fieldErr("kind", "goes before the colon: write %s:... and leave kind= out", val)
		case "methods":
			s.Methods = strings.Split(val, "|")
		case "probability":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return Spec{}, fieldErr("probability", "want a number between 0 and 1, got %q", val)
			}
			s.Probability = &f
		default:
			if s.Params == nil {
				s.Params = Params{}
			}
			s.Params[key] = val
		}
	}
	return s, nil
}

// specKeyErr names a key of the flag syntax the way Check would name the field.
func specKeyErr(key, format string, args ...any) *FieldError {
	switch key {
	case "name", "methods", "kind":
		return fieldErr(key, format, args...)
	case "p", "probability":
		return fieldErr("probability", format, args...)
	}
	return paramErr(key, format, args...)
}

func truncate(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

// String writes s in the flag syntax ParseSpec reads.
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Kind)
	sep := byte(':')
	add := func(k, v string) {
		b.WriteByte(sep)
		sep = ','
		b.WriteString(k)
		b.WriteByte('=')
		if v == "" || strings.ContainsAny(v, `,"= `) || strconv.Quote(v) != `"`+v+`"` {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	if s.Name != "" && s.Name != s.Kind {
		add("name", s.Name)
	}
	if len(s.Methods) > 0 {
		add("methods", strings.Join(s.Methods, "|"))
	}
	if s.Probability != nil && *s.Probability != 1 {
		add("p", strconv.FormatFloat(*s.Probability, 'g', -1, 64))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		add(k, s.Params[k])
	}
	return b.String()
}
