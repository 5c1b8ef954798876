package fakes

import (
	"fmt"
	"strings"

	"github.com/jitbench/jitbench/reference/token"
)

// The grant claim layouts the forger knows by name; a target config names
// one (or writes its own template) so that every forged grant is laid out
// as the target expects.
const (
	// PresetScopeMethods is the reference's layout: "scope": {"methods": [...], "resource": "..."}.
	PresetScopeMethods = "scope.methods"
	// PresetMethods is a top-level list of method names: "methods": [...].
	PresetMethods = "methods"
	// PresetScopeString is OAuth 2's space-delimited "scope" string of permissions (RFC 9068 access tokens).
	PresetScopeString = "scope-string"
	// PresetScp is a "scp" list of permissions.
	PresetScp = "scp"
	// PresetPermissions is a "permissions" list.
	PresetPermissions = "permissions"
	// PresetRoles is a "roles" list.
	PresetRoles = "roles"
)

// Preset is a named grant layout.
type Preset struct {
	// Name is what a config writes (preset: scp).
	Name string
	// Summary says what the layout is, for docs.
	Summary string
	// Typ is the typ header grants of this layout carry unless the config says otherwise.
	Typ string
	// claim is the member that says what the grant allows, and value its template.
	claim string
	value any
}

// Presets lists the grant layouts, the default first.
func Presets() []Preset {
	return []Preset{
		{Name: PresetScopeMethods, Summary: "the reference's layout: a scope object with the granted methods (and the resource)", Typ: token.TypeGrant,
			claim: "scope", value: Object{{Name: "methods", Value: "${methods}"}}},
		{Name: PresetMethods, Summary: "a top-level list of method names", Typ: "JWT", claim: "methods", value: "${methods}"},
		{Name: PresetScopeString, Summary: "OAuth 2 access token (RFC 9068): a space-delimited scope string of permissions, typ at+jwt", Typ: "at+jwt",
			claim: "scope", value: "${permissions:space}"},
		{Name: PresetScp, Summary: "an scp list of permissions", Typ: "JWT", claim: "scp", value: "${permissions}"},
		{Name: PresetPermissions, Summary: "a permissions list", Typ: "JWT", claim: "permissions", value: "${permissions}"},
		{Name: PresetRoles, Summary: "a roles list", Typ: "JWT", claim: "roles", value: "${permissions}"},
	}
}

// PresetNames lists the names of Presets.
func PresetNames() []string {
	var out []string
	for _, p := range Presets() {
		out = append(out, p.Name)
	}
	return out
}

// LookupPreset returns the layout called name.
func LookupPreset(name string) (Preset, error) {
	for _, p := range Presets() {
		if p.Name == name {
			return p, nil
		}
	}
	return Preset{}, fmt.Errorf("%w: unknown preset %q (known: %s)", ErrBadTemplate, name, strings.Join(PresetNames(), ", "))
}

// Template is the layout's grant template: the registered claims, the
// scope claim, and the resource when withResource (inside scope for
// scope.methods, a top-level "resource" claim otherwise).
func (p Preset) Template(withResource bool) *ClaimTemplate {
	root := registeredClaims()
	scope := cloneValue(p.value)
	if withResource {
		if obj, ok := scope.(Object); ok {
			obj = append(obj, Member{Name: "resource", Value: "${resource}"})
			scope = obj
		}
	}
	root = append(root, Member{Name: p.claim, Value: scope})
	if withResource && p.Name != PresetScopeMethods {
		root = append(root, Member{Name: "resource", Value: "${resource}"})
	}
	if p.Name == PresetScopeString {
		root.Insert(2, "client_id", "${sub}") // RFC 9068 requires it
	}
	t, err := NewClaimTemplate(root)
	if err != nil {
		panic(fmt.Sprintf("preset %s: %v", p.Name, err)) // the presets are constants
	}
	return t
}

// IdentityTemplate is the reference's identity token: the registered claims and nothing else.
func IdentityTemplate() *ClaimTemplate {
	t, err := NewClaimTemplate(registeredClaims())
	if err != nil {
		panic(err)
	}
	return t
}

// registeredClaims are the claims every layout shares, in the reference's order; aud is an array, as the reference writes it.
func registeredClaims() Object {
	return Object{
		{Name: "iss", Value: "${iss}"},
		{Name: "sub", Value: "${sub}"},
		{Name: "aud", Value: []any{"${aud}"}},
		{Name: "exp", Value: "${exp}"},
		{Name: "nbf", Value: "${nbf}"},
		{Name: "iat", Value: "${iat}"},
		{Name: "jti", Value: "${jti}"},
	}
}

// MethodForm is how a target spells method names in its grants.
type MethodForm string

// The method name forms, written as what they look like.
const (
	// FormFull is gRPC's full method name, /pkg.Service/Method (the default).
	FormFull MethodForm = "/pkg.Service/Method"
	// FormBare drops the leading slash: pkg.Service/Method.
	FormBare MethodForm = "pkg.Service/Method"
	// FormDotted joins service and method with a dot: pkg.Service.Method.
	FormDotted MethodForm = "pkg.Service.Method"
)

// MethodForms lists the forms, the default first.
func MethodForms() []MethodForm { return []MethodForm{FormFull, FormBare, FormDotted} }

// Spell writes the full method name full ("/pkg.Service/Method") in form f.
func (f MethodForm) Spell(full string) string {
	bare := strings.TrimPrefix(full, "/")
	switch f {
	case FormBare:
		return bare
	case FormDotted:
		return strings.Replace(bare, "/", ".", 1)
	}
	return "/" + bare
}
