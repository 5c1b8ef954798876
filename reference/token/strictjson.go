package token

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Token JSON is decoded exactly, not with encoding/json: that package matches
// member names case-insensitively and lets a later duplicate win, so a signed
// {"exp":past,"EXP":future} would be read as valid and a "Scope" member could
// replace "scope". Here no object may repeat a name, names match exactly,
// strings must be valid UTF-8, and a member whose name is a case variant of
// one the decoder reads is refused rather than ignored: the issuer may have
// meant it, and a verifier reading past it would see another token than the
// issuer signed. Unknown members in any other spelling are fine.

// names are the member names an object's decoder reads, each with the names
// of its value when that is an object read member by member too (else nil).
type names map[string]names

// variantOf returns the name n differs from only in case, or "".
func (ns names) variantOf(n []byte) string {
	for k := range ns {
		if bytes.EqualFold([]byte(k), n) {
			return k
		}
	}
	return ""
}

// headerNames are the JWS header parameters of RFC 7515 §4.1 and RFC 7797:
// the verifier reads only alg, kid, typ and crit, but a case variant of any
// registered name is refused as well.
var headerNames = names{
	"alg": nil, "jku": nil, "jwk": nil, "kid": nil, "x5u": nil, "x5c": nil, "x5t": nil,
	"x5t#S256": nil, "typ": nil, "cty": nil, "crit": nil, "b64": nil,
}

// A strictError says which rule a token's JSON broke and where.
type strictError struct {
	// rule is what was wrong.
	rule strictRule
	// member is the dotted path of the known member concerned ("exp",
	// "scope.methods"), or "" when the member is not one the decoder reads.
	member string
	// variant is the spelling found, for ruleCase.
	variant string
	err     error
}

type strictRule int

const (
	ruleSyntax    strictRule = iota // not one well-formed JSON object
	ruleDuplicate                   // a name repeated in one object
	ruleCase                        // a case variant of a known name
	ruleType                        // a known member of the wrong type
	ruleNotNumber                   // a time claim that is not a number
	ruleRange                       // a time claim out of range
)

func (e *strictError) Error() string { return e.describe("JSON", "member") }

// describe says what is wrong in one line, for the JSON of what (the token's
// "header" or "payload") whose members are called noun ("claim", "parameter").
// It names only known members and case variants of them, never a value.
func (e *strictError) describe(what, noun string) string {
	subject := "a " + noun + " in the token's " + what
	if e.member != "" {
		subject = "the " + e.member + " " + noun
	}
	switch e.rule {
	case ruleDuplicate:
		if e.member == "" {
			return "the token's " + what + " repeats a member name: names must be unique"
		}
		return "the token's " + what + " has " + subject + " twice: names must be unique"
	case ruleCase:
		return "the token's " + what + " has " + strconv.Quote(e.variant) + ", a case variant of " + subject + ": names are case-sensitive"
	case ruleRange:
		return subject + " is not a time from 1970 to year 9999"
	case ruleNotNumber:
		return subject + " is not a JSON number"
	case ruleType:
		return subject + " has the wrong JSON type"
	}
	return "the token's " + what + " is not one well-formed JSON object"
}

func (e *strictError) Unwrap() error { return e.err }

// decodeStrict decodes the JSON object b into v under the rules above; known
// are the names v's decoder reads. Errors are *strictError.
func decodeStrict(b []byte, known names, v any) error {
	w := walkers.Get().(*walker)
	defer func() {
		w.r.Reset(nil) // the pool must not keep the token alive
		walkers.Put(w)
	}()
	w.r.Reset(b)
	w.d.Reset(&w.r)
	if err := w.checkNames(known, nil); err != nil {
		if se := (*strictError)(nil); errors.As(err, &se) {
			return err
		}
		return syntactic(err, known)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return semantic(err, known)
	}
	return nil
}

// walker reads a token's JSON for checkNames; pooled, as every cold verify needs two.
type walker struct {
	r    bytes.Reader
	d    *jsontext.Decoder
	name []byte // the current member name, unescaped
}

var walkers = sync.Pool{New: func() any {
	w := &walker{name: make([]byte, 0, 64)}
	w.d = jsontext.NewDecoder(&w.r)
	return w
}}

// checkNames walks one object, refusing a repeated name (jsontext does that
// at every depth, skipped values included) and a case variant of a known
// one, and descends into known members whose values are objects. path is
// where the object is; errors other than *strictError are jsontext's.
func (w *walker) checkNames(known names, path []string) error {
	d := w.d
	if d.PeekKind() != '{' {
		if len(path) > 0 {
			return d.SkipValue() // a known member of the wrong type: Unmarshal names it
		}
		_, err := d.ReadToken()
		return &strictError{rule: ruleSyntax, err: err}
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() == '"' {
		// ReadValue gives the quoted name without allocating, unlike
		// ReadToken().String(); jsontext has checked it for duplicates.
		quoted, err := d.ReadValue()
		if err != nil {
			return err
		}
		if w.name, err = jsontext.AppendUnquote(w.name[:0], quoted); err != nil {
			return err
		}
		child, ok := known[string(w.name)]
		switch {
		case ok && child != nil:
			err = w.checkNames(child, append(path, string(w.name)))
		case !ok:
			if k := known.variantOf(w.name); k != "" {
				return &strictError{rule: ruleCase, member: dotted(append(path, k)), variant: string(w.name)}
			}
			fallthrough
		default:
			err = d.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// syntactic classifies an error of jsontext: a repeated name, or bad JSON.
func syntactic(err error, known names) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName) {
		return &strictError{rule: ruleDuplicate, member: knownPath(se.JSONPointer, known), err: err}
	}
	return &strictError{rule: ruleSyntax, err: err}
}

// semantic classifies an error of Unmarshal: a member of the wrong type or,
// for a time claim, not a number or out of range.
func semantic(err error, known names) error {
	var se *json.SemanticError
	if !errors.As(err, &se) {
		return syntactic(err, known)
	}
	out := &strictError{rule: ruleType, member: knownPath(se.JSONPointer, known), err: err}
	switch {
	case errors.Is(err, ErrTimeRange):
		out.rule = ruleRange
	case errors.Is(err, ErrNotNumeric):
		out.rule = ruleNotNumber
	}
	return out
}

// knownPath is p as a dotted path of known names, stopping inside a known
// member that has no names of its own ("scope.methods" for
// /scope/methods/0), or "" if p leaves the known names.
func knownPath(p jsontext.Pointer, known names) string {
	var path []string
	for tok := range p.Tokens() {
		if known == nil && len(path) > 0 {
			break
		}
		child, ok := known[tok]
		if !ok {
			return ""
		}
		path, known = append(path, tok), child
	}
	return dotted(path)
}

func dotted(path []string) string { return strings.Join(path, ".") }

// namesCache maps a claims type to its names, derived once.
var namesCache sync.Map

// namesFor returns the names the decoder of v's type reads, from its json tags.
func namesFor(v any) names {
	t := reflect.TypeOf(v)
	if ns, ok := namesCache.Load(t); ok {
		return ns.(names)
	}
	ns, _ := namesCache.LoadOrStore(t, namesOf(t))
	return ns.(names)
}

var unmarshalerType = reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()

// namesOf derives names from a struct's json tags, as json v2 reads them:
// embedded structs without a name are inlined, a type that decodes itself
// (NumericTime, jwt.ClaimStrings) is a leaf. Anything else has no names.
func namesOf(t reflect.Type) names {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	out := names{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			maps.Copy(out, namesOf(f.Type))
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		out[name] = namesOf(f.Type)
	}
	return out
}
