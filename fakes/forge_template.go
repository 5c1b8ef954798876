package fakes

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The placeholders of a claim template: "${sub}" as a whole value becomes
// the value (a number for times, a list for methods and permissions);
// inside longer text it is spelled out, a list joined as its modifier says
// ("${permissions:space}" for an OAuth 2 scope string).
const (
	// PlaceholderSubject is the caller ("sub").
	PlaceholderSubject = "sub"
	// PlaceholderIssuer is the issuer ("iss").
	PlaceholderIssuer = "iss"
	// PlaceholderAudience is the target's name ("aud"); write ["${aud}"] for an array.
	PlaceholderAudience = "aud"
	// PlaceholderID is the token's id ("jti").
	PlaceholderID = "jti"
	// PlaceholderIssuedAt, PlaceholderNotBefore and PlaceholderExpires are the times, in seconds since the epoch.
	PlaceholderIssuedAt  = "iat"
	PlaceholderNotBefore = "nbf"
	PlaceholderExpires   = "exp"
	// PlaceholderResource is the resource pattern the grant is scoped to.
	PlaceholderResource = "resource"
	// PlaceholderMethod is the called method, spelled in the target's method form; PlaceholderMethods the list of granted ones.
	PlaceholderMethod  = "method"
	PlaceholderMethods = "methods"
	// PlaceholderPermission is the permission the called method needs; PlaceholderPermissions the list of granted ones.
	PlaceholderPermission  = "permission"
	PlaceholderPermissions = "permissions"
)

// Placeholders lists every placeholder name, in the order the docs give them.
func Placeholders() []string {
	return []string{PlaceholderSubject, PlaceholderIssuer, PlaceholderAudience, PlaceholderID,
		PlaceholderIssuedAt, PlaceholderNotBefore, PlaceholderExpires, PlaceholderResource,
		PlaceholderMethod, PlaceholderMethods, PlaceholderPermission, PlaceholderPermissions}
}

// listPlaceholders are the placeholders whose value is a list.
var listPlaceholders = []string{PlaceholderMethods, PlaceholderPermissions}

// timePlaceholders are the placeholders whose value is a number.
var timePlaceholders = []string{PlaceholderIssuedAt, PlaceholderNotBefore, PlaceholderExpires}

// listJoins are the modifiers that spell a list inside text.
var listJoins = map[string]string{"space": " ", "comma": ","}

// scopePlaceholders are the placeholders that say what a grant allows.
var scopePlaceholders = []string{PlaceholderMethods, PlaceholderMethod, PlaceholderPermissions, PlaceholderPermission}

// ErrBadTemplate is wrapped by every error about a claim template.
var ErrBadTemplate = errors.New("invalid claim template")

// Values fill a claim template's placeholders.
type Values struct {
	// Subject, Issuer, Audience, Resource and ID fill sub, iss, aud, resource and jti.
	Subject, Issuer, Audience, Resource, ID string
	// Methods are the granted methods, already in the target's method form; the first is the called one.
	Methods []string
	// Permissions are the granted permissions; the first is the one the called method needs.
	Permissions []string
	// IssuedAt, NotBefore and Expires are seconds since the epoch.
	IssuedAt, NotBefore, Expires int64
}

// Path locates a value inside claims: member names and array indexes.
type Path []any

// ClaimTemplate is the claims of a valid token as a target expects them,
// any JSON shape, with placeholders where the suite puts its values. Every
// case renders it and then changes one thing, so a target refuses the
// result for that thing and not for a layout it does not know.
type ClaimTemplate struct {
	root Object
	// whole are the paths where a placeholder is the whole value; anywhere also counts those inside text.
	whole, anywhere map[string][]Path
}

// NewClaimTemplate checks root's placeholders and returns it as a template.
func NewClaimTemplate(root Object) (*ClaimTemplate, error) {
	t := &ClaimTemplate{root: root.Clone(), whole: map[string][]Path{}, anywhere: map[string][]Path{}}
	if err := t.scan(t.root, nil); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseClaimTemplate reads a template from a JSON object; a repeated name is an error.
func ParseClaimTemplate(data []byte) (*ClaimTemplate, error) {
	root, err := DecodeObject(data, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTemplate, err)
	}
	return NewClaimTemplate(root)
}

// Root returns a copy of the template's claims, placeholders unfilled.
func (t *ClaimTemplate) Root() Object { return t.root.Clone() }

// Uses reports whether placeholder name appears anywhere in the template.
func (t *ClaimTemplate) Uses(name string) bool { return len(t.anywhere[name]) > 0 }

// Where returns the paths at which placeholder name is the whole value.
func (t *ClaimTemplate) Where(name string) []Path { return slices.Clone(t.whole[name]) }

// ScopeClaim is the top-level claim that holds what a grant allows (the
// first in order naming methods or permissions); "" when there is none.
func (t *ClaimTemplate) ScopeClaim() string {
	for _, m := range t.root {
		for _, name := range scopePlaceholders {
			for _, p := range t.anywhere[name] {
				if p[0] == m.Name {
					return m.Name
				}
			}
		}
	}
	return ""
}

// Merge returns the template with overlay's top-level members added or
// replacing its own; a member whose value is null removes the claim.
func (t *ClaimTemplate) Merge(overlay Object) (*ClaimTemplate, error) {
	root := t.root.Clone()
	for _, m := range overlay {
		if m.Value == nil {
			root.Delete(m.Name)
			continue
		}
		root.Set(m.Name, cloneValue(m.Value))
	}
	return NewClaimTemplate(root)
}

// scan walks v, checking and recording every placeholder.
func (t *ClaimTemplate) scan(v any, at Path) error {
	switch x := v.(type) {
	case Object:
		seen := map[string]bool{}
		for _, m := range x {
			if strings.Contains(m.Name, "${") {
				return fmt.Errorf("%w: %s: placeholders go in values, not in claim names", ErrBadTemplate, pathString(append(at, m.Name)))
			}
			if seen[m.Name] {
				return fmt.Errorf("%w: %s appears twice", ErrBadTemplate, pathString(append(at, m.Name)))
			}
			seen[m.Name] = true
			if err := t.scan(m.Value, appendPath(at, m.Name)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := t.scan(e, appendPath(at, i)); err != nil {
				return err
			}
		}
	case string:
		refs, err := parseRefs(x)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadTemplate, pathString(at), err)
		}
		whole := len(refs) == 1 && refs[0].whole
		for _, r := range refs {
			if !whole && r.join == "" && slices.Contains(listPlaceholders, r.name) {
				return fmt.Errorf("%w: %s: ${%s} is a list: inside text write ${%s:space} or ${%s:comma}",
					ErrBadTemplate, pathString(at), r.name, r.name, r.name)
			}
			t.anywhere[r.name] = append(t.anywhere[r.name], at)
			if whole && r.join == "" {
				t.whole[r.name] = append(t.whole[r.name], at)
			}
		}
	case json.Number, bool, nil:
	default:
		return fmt.Errorf("%w: %s: a value of type %T", ErrBadTemplate, pathString(at), v)
	}
	return nil
}

// appendPath extends a path without sharing the parent's backing array.
func appendPath(p Path, step any) Path {
	return append(slices.Clip(p), step)
}

// ref is one placeholder inside a string.
type ref struct {
	name, join string
	start, end int  // byte offsets of "${...}"
	whole      bool // the string is this placeholder and nothing else
}

// parseRefs finds the placeholders in s; a "${" that does not start a known placeholder is an error.
func parseRefs(s string) ([]ref, error) {
	var out []ref
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			break
		}
		start := i + j
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q has ${ without a closing }", s)
		}
		end += start + 1
		body := s[start+2 : end-1]
		name, mod, hasMod := strings.Cut(body, ":")
		if !slices.Contains(Placeholders(), name) {
			return nil, fmt.Errorf("unknown placeholder ${%s} (known: %s)", body, strings.Join(Placeholders(), ", "))
		}
		r := ref{name: name, start: start, end: end}
		if hasMod {
			if _, ok := listJoins[mod]; !ok || !slices.Contains(listPlaceholders, name) {
				return nil, fmt.Errorf("unknown modifier in ${%s}: only lists take :space or :comma", body)
			}
			r.join = listJoins[mod]
		}
		out = append(out, r)
		i = end
	}
	if len(out) == 1 && out[0].start == 0 && out[0].end == len(s) {
		out[0].whole = true
	}
	return out, nil
}

// Render fills the template with v.
func (t *ClaimTemplate) Render(v Values) (Object, error) {
	out, _, err := render(t.root, &v)
	if err != nil {
		return nil, err
	}
	return out.(Object), nil
}

// render fills one value; splice says a list placeholder was an array
// element on its own, whose items go into the enclosing array.
func render(x any, v *Values) (out any, splice bool, err error) {
	switch n := x.(type) {
	case Object:
		o := make(Object, 0, len(n))
		for _, m := range n {
			val, _, err := render(m.Value, v)
			if err != nil {
				return nil, false, err
			}
			o = append(o, Member{Name: m.Name, Value: val})
		}
		return o, false, nil
	case []any:
		a := make([]any, 0, len(n))
		for _, e := range n {
			val, sp, err := render(e, v)
			if err != nil {
				return nil, false, err
			}
			if items, ok := val.([]any); ok && sp {
				a = append(a, items...)
				continue
			}
			a = append(a, val)
		}
		return a, false, nil
	case string:
		return renderString(n, v)
	}
	return x, false, nil
}

// renderString fills the placeholders of one string value.
func renderString(s string, v *Values) (any, bool, error) {
	refs, err := parseRefs(s)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrBadTemplate, err)
	}
	if len(refs) == 0 {
		return s, false, nil
	}
	if refs[0].whole && refs[0].join == "" {
		val := v.value(refs[0].name)
		_, isList := val.([]any)
		return val, isList, nil
	}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		b.WriteString(s[last:r.start])
		b.WriteString(v.text(r.name, r.join))
		last = r.end
	}
	b.WriteString(s[last:])
	return b.String(), false, nil
}

// value is a placeholder's typed value.
func (v *Values) value(name string) any {
	switch name {
	case PlaceholderMethods:
		return strings2any(v.Methods)
	case PlaceholderPermissions:
		return strings2any(v.Permissions)
	case PlaceholderIssuedAt:
		return json.Number(strconv.FormatInt(v.IssuedAt, 10))
	case PlaceholderNotBefore:
		return json.Number(strconv.FormatInt(v.NotBefore, 10))
	case PlaceholderExpires:
		return json.Number(strconv.FormatInt(v.Expires, 10))
	}
	return v.text(name, "")
}

// text is a placeholder's value spelled out, a list joined with join.
func (v *Values) text(name, join string) string {
	first := func(list []string) string {
		if len(list) == 0 {
			return ""
		}
		return list[0]
	}
	switch name {
	case PlaceholderSubject:
		return v.Subject
	case PlaceholderIssuer:
		return v.Issuer
	case PlaceholderAudience:
		return v.Audience
	case PlaceholderID:
		return v.ID
	case PlaceholderResource:
		return v.Resource
	case PlaceholderMethod:
		return first(v.Methods)
	case PlaceholderPermission:
		return first(v.Permissions)
	case PlaceholderMethods:
		return strings.Join(v.Methods, join)
	case PlaceholderPermissions:
		return strings.Join(v.Permissions, join)
	case PlaceholderIssuedAt:
		return strconv.FormatInt(v.IssuedAt, 10)
	case PlaceholderNotBefore:
		return strconv.FormatInt(v.NotBefore, 10)
	case PlaceholderExpires:
		return strconv.FormatInt(v.Expires, 10)
	}
	return ""
}

func strings2any(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// pathString spells a path for messages: scope.methods[0].
func pathString(p Path) string {
	if len(p) == 0 {
		return "the claims"
	}
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		}
	}
	return b.String()
}

// lookup returns the value at p inside o.
func lookup(o Object, p Path) (any, bool) {
	var cur any = o
	for _, step := range p {
		switch s := step.(type) {
		case string:
			obj, ok := cur.(Object)
			if !ok {
				return nil, false
			}
			if cur, ok = obj.Get(s); !ok {
				return nil, false
			}
		case int:
			arr, ok := cur.([]any)
			if !ok || s < 0 || s >= len(arr) {
				return nil, false
			}
			cur = arr[s]
		}
	}
	return cur, true
}

// setAt replaces the value at p inside o; false when p does not exist.
func setAt(o Object, p Path, v any) bool {
	if len(p) == 0 {
		return false
	}
	parent, ok := lookup(o, p[:len(p)-1])
	if !ok {
		return false
	}
	switch s := p[len(p)-1].(type) {
	case string:
		obj, ok := parent.(Object)
		if !ok || obj.Index(s) < 0 {
			return false
		}
		obj[obj.Index(s)].Value = v // obj shares its backing array with o
		return true
	case int:
		arr, ok := parent.([]any)
		if !ok || s < 0 || s >= len(arr) {
			return false
		}
		arr[s] = v
		return true
	}
	return false
}

// deleteAt removes the member at p, which must name an object member; false when it does not exist.
func deleteAt(o *Object, p Path) bool {
	if len(p) == 1 {
		name, ok := p[0].(string)
		if !ok || o.Index(name) < 0 {
			return false
		}
		o.Delete(name)
		return true
	}
	if len(p) == 0 {
		return false
	}
	parent, ok := lookup(*o, p[:len(p)-1])
	obj, isObj := parent.(Object)
	name, isName := p[len(p)-1].(string)
	if !ok || !isObj || !isName || obj.Index(name) < 0 {
		return false
	}
	obj.Delete(name)
	return setAt(*o, p[:len(p)-1], obj)
}
