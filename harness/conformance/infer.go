package conformance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/token"
)

// A sample token is untrusted input: whatever a user pastes. It is read
// strictly (compact JWS, base64url without padding, JSON objects without
// repeated names) and never verified here: init only learns its shape.

// ErrBadSample is wrapped by every error about a sample token.
var ErrBadSample = errors.New("not a usable sample token")

// maxSampleBytes bounds a sample: a real token is a few KiB.
const maxSampleBytes = 64 << 10

// Sample is what a sample token shows, read without verifying it.
type Sample struct {
	// Scheme is the word before the token when it was pasted as a header value ("Bearer").
	Scheme string
	// Token is the compact JWS itself.
	Token string
	// Alg, Typ and Kid are the JOSE header's; HasTyp and HasKid say whether they were there.
	Alg, Typ, Kid  string
	HasTyp, HasKid bool
	// OtherHeader are the header parameters beyond alg, typ and kid, which the suite does not reproduce.
	OtherHeader []string
	// Claims are the token's claims, in order.
	Claims fakes.Object
	// Issuer, Subject and Audience are iss, sub and aud (the first when aud is an array).
	Issuer, Subject, Audience string
	// AudienceArray says aud is an array.
	AudienceArray bool
	// Lifetime is exp − iat; zero when either is missing.
	Lifetime time.Duration
	// Scope is the claim that says what the token allows; its Claim is empty when none was recognised.
	Scope SampleScope
	// Resource is the resource the token is scoped to (a resource or res claim, or scope.resource); "" when none.
	Resource string
}

// SampleScope is the claim of a sample that says what it allows.
type SampleScope struct {
	// Claim is the top-level claim ("scope", "methods", "scp", "permissions", "roles").
	Claim string
	// Nested says the values are scope.methods, the reference's layout.
	Nested bool
	// Spaced says the values are one space-delimited string (OAuth 2's scope).
	Spaced bool
	// Values are what the token allows, as written.
	Values []string
	// Preset is the preset whose claim this is, for messages.
	Preset string
}

// Form says in words how the scope is written.
func (s SampleScope) Form() string {
	switch {
	case s.Claim == "":
		return "no scope claim recognised"
	case s.Nested:
		return "scope.methods (a scope object with a methods list)"
	case s.Spaced:
		return s.Claim + " (a space-delimited string)"
	}
	return s.Claim + " (a list)"
}

// scopeClaims are the claims a scope is looked for in, in this order.
var scopeClaims = []struct{ claim, preset string }{
	{"scope", fakes.PresetScopeString}, {"methods", fakes.PresetMethods}, {"scp", fakes.PresetScp},
	{"permissions", fakes.PresetPermissions}, {"roles", fakes.PresetRoles},
}

// InferSample reads a sample token without verifying it: its JOSE header,
// its registered claims, the claim that says what it allows and the
// resource it is scoped to. s may be a header value ("Bearer eyJ..."). An
// error wraps ErrBadSample and says in one line what is wrong.
func InferSample(s string) (*Sample, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadSample, fmt.Sprintf(format, args...))
	}
	s = strings.TrimSpace(s)
	if len(s) > maxSampleBytes {
		return nil, bad("%d bytes, more than the %d a sample may have", len(s), maxSampleBytes)
	}
	out := &Sample{}
	if scheme, rest, ok := strings.Cut(s, " "); ok && !strings.Contains(scheme, ".") {
		out.Scheme, s = scheme, strings.TrimSpace(rest)
	}
	parts := strings.Split(s, ".")
	switch {
	case s == "":
		return nil, bad("it is empty")
	case len(parts) == 5:
		return nil, bad("an encrypted token (JWE, five parts): paste a signed JWT (three parts)")
	case len(parts) != 3:
		return nil, bad("a JWT has three base64url parts separated by dots, this has %d", len(parts))
	}
	out.Token = s
	header, err := samplePart(parts[0], "header")
	if err != nil {
		return nil, bad("%v", err)
	}
	if out.Claims, err = samplePart(parts[1], "claims"); err != nil {
		return nil, bad("%v", err)
	}
	if err := out.readHeader(header); err != nil {
		return nil, bad("%v", err)
	}
	if err := out.readClaims(); err != nil {
		return nil, bad("%v", err)
	}
	return out, nil
}

// samplePart decodes one base64url part of a token as a JSON object.
func samplePart(part, what string) (fakes.Object, error) {
	data, err := base64.RawURLEncoding.Strict().DecodeString(part)
	if err != nil {
		return nil, fmt.Errorf("the %s is not base64url without padding", what)
	}
	obj, err := fakes.DecodeObject(data, false)
	if err != nil {
		return nil, fmt.Errorf("the %s is not a JSON object: %v", what, err)
	}
	return obj, nil
}

// readHeader reads alg, typ and kid.
func (s *Sample) readHeader(h fakes.Object) error {
	for _, m := range h {
		v, isText := m.Value.(string)
		switch m.Name {
		case "alg":
			s.Alg = v
		case "typ":
			s.Typ, s.HasTyp = v, true
		case "kid":
			s.Kid, s.HasKid = v, true
		default:
			s.OtherHeader = append(s.OtherHeader, m.Name)
			continue
		}
		if !isText {
			return fmt.Errorf("the header's %s is not text", m.Name)
		}
	}
	switch {
	case s.Alg == "":
		return errors.New("the header has no alg")
	case strings.EqualFold(s.Alg, "none"):
		return errors.New("it is unsigned (alg none): paste a token your service accepts")
	}
	if err := token.CheckAlgorithm(s.Alg); err != nil {
		return fmt.Errorf("alg %q: %v", s.Alg, err)
	}
	return nil
}

// readClaims reads the registered claims, the scope and the resource.
func (s *Sample) readClaims() error {
	text := func(name string) (string, error) {
		v, ok := s.Claims.Get(name)
		if !ok {
			return "", nil
		}
		str, isText := v.(string)
		if !isText {
			return "", fmt.Errorf("%s is not text", name)
		}
		return str, nil
	}
	var err error
	if s.Issuer, err = text("iss"); err != nil {
		return err
	}
	if s.Subject, err = text("sub"); err != nil {
		return err
	}
	switch aud, _ := s.Claims.Get("aud"); a := aud.(type) {
	case nil:
	case string:
		s.Audience = a
	case []any:
		s.AudienceArray = true
		if len(a) > 0 {
			s.Audience, _ = a[0].(string)
		}
		if s.Audience == "" {
			return errors.New("aud is an array whose first member is not a name")
		}
	default:
		return errors.New("aud is neither text nor an array")
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := s.Claims.Get(name); ok {
			if _, isNum := v.(json.Number); !isNum {
				return fmt.Errorf("%s is not a number of seconds", name)
			}
		}
	}
	s.Lifetime = sampleLifetime(s.Claims)
	s.readScope()
	s.Resource = sampleResource(s.Claims)
	_, err = s.Template(false) // a claim that cannot be written as a template is refused now, in one line
	return err
}

// sampleLifetime is exp − iat, or zero.
func sampleLifetime(c fakes.Object) time.Duration {
	exp, _ := c.Get("exp")
	iat, _ := c.Get("iat")
	e, eok := exp.(json.Number)
	i, iok := iat.(json.Number)
	if !eok || !iok {
		return 0
	}
	ev, err1 := e.Int64()
	iv, err2 := i.Int64()
	if err1 != nil || err2 != nil || ev <= iv || ev-iv > int64(100*365*24*time.Hour/time.Second) {
		return 0
	}
	return time.Duration(ev-iv) * time.Second
}

// readScope finds the claim that says what the token allows.
func (s *Sample) readScope() {
	for _, sc := range scopeClaims {
		v, ok := s.Claims.Get(sc.claim)
		if !ok {
			continue
		}
		if obj, isObj := v.(fakes.Object); isObj && sc.claim == "scope" {
			methods, _ := obj.Get("methods")
			if values, ok := textList(methods); ok {
				s.Scope = SampleScope{Claim: "scope", Nested: true, Values: values, Preset: fakes.PresetScopeMethods}
				return
			}
			continue
		}
		if str, isText := v.(string); isText && (sc.claim == "scope" || sc.claim == "scp") {
			s.Scope = SampleScope{Claim: sc.claim, Spaced: true, Values: strings.Fields(str), Preset: sc.preset}
			return
		}
		if values, ok := textList(v); ok && sc.claim != "scope" {
			s.Scope = SampleScope{Claim: sc.claim, Values: values, Preset: sc.preset}
			return
		}
	}
}

// textList is v as a list of text, if it is one.
func textList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		str, isText := e.(string)
		if !isText {
			return nil, false
		}
		out = append(out, str)
	}
	return out, true
}

// resourceClaims are the top-level claims a resource is read from.
var resourceClaims = []string{"resource", "res"}

// sampleResource is the resource the claims scope the token to.
func sampleResource(c fakes.Object) string {
	if scope, ok := c.Get("scope"); ok {
		if obj, isObj := scope.(fakes.Object); isObj {
			if r, ok := obj.Get("resource"); ok {
				if str, isText := r.(string); isText && str != "" {
					return str
				}
			}
		}
	}
	for _, name := range resourceClaims {
		if r, ok := c.Get(name); ok {
			if str, isText := r.(string); isText && str != "" {
				return str
			}
		}
	}
	return ""
}

// Template is the claim template that reproduces the sample: its claims
// in order, each registered claim, the scope and the resource as a
// placeholder, everything else as the literal value the sample has.
// methods says the scope values are method names (else permissions).
func (s *Sample) Template(methods bool) (fakes.Object, error) {
	list, spaced := "${"+fakes.PlaceholderPermissions+"}", "${"+fakes.PlaceholderPermissions+":space}"
	if methods {
		list, spaced = "${"+fakes.PlaceholderMethods+"}", "${"+fakes.PlaceholderMethods+":space}"
	}
	out := fakes.Object{}
	for _, m := range s.Claims {
		v := m.Value
		switch {
		case slices.Contains([]string{"iss", "sub", "jti", "exp", "nbf", "iat"}, m.Name):
			v = "${" + m.Name + "}"
		case m.Name == "aud" && s.AudienceArray:
			rest := slices.Clone(m.Value.([]any)[1:])
			v = append([]any{"${aud}"}, rest...)
		case m.Name == "aud":
			v = "${aud}"
		case m.Name == s.Scope.Claim && s.Scope.Nested:
			obj := m.Value.(fakes.Object).Clone()
			obj.Set("methods", "${"+fakes.PlaceholderMethods+"}")
			if s.Resource != "" {
				if _, ok := obj.Get("resource"); ok {
					obj.Set("resource", "${resource}")
				}
			}
			v = obj
		case m.Name == s.Scope.Claim && s.Scope.Spaced:
			v = spaced
		case m.Name == s.Scope.Claim:
			v = list
		case s.Resource != "" && slices.Contains(resourceClaims, m.Name) && m.Value == s.Resource:
			v = "${resource}"
		}
		out = append(out, fakes.Member{Name: m.Name, Value: v})
	}
	if _, err := fakes.NewClaimTemplate(out); err != nil {
		return nil, fmt.Errorf("the claims cannot be written as a template: %s", strings.TrimPrefix(err.Error(), fakes.ErrBadTemplate.Error()+": "))
	}
	return out, nil
}
