package fakes

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/token"
)

// decoded is a forged token's header and claims, members in order.
type decoded struct {
	header, claims Object
}

func decode(t *testing.T, tok string) decoded {
	t.Helper()
	segs := strings.Split(tok, ".")
	require.Len(t, segs, 3)
	var out decoded
	for i, dst := range []*Object{&out.header, &out.claims} {
		raw, err := base64.RawURLEncoding.DecodeString(segs[i])
		require.NoError(t, err)
		*dst, err = DecodeObject(raw, true)
		require.NoError(t, err)
	}
	return out
}

func TestClaimTemplateRender(t *testing.T) {
	tmpl, err := ParseClaimTemplate([]byte(`{"iss":"${iss}","aud":["${aud}","other"],"exp":"${exp}","n":7,
		"scope":"openid ${permissions:space}","scp":["base","${permissions}"],"m":"${method}",
		"ctx":{"who":"user:${sub}","res":"${resource}"},"ok":true,"nil":null}`))
	require.NoError(t, err)
	got, err := tmpl.Render(Values{Issuer: "idp", Audience: "svc", Subject: "alice", Resource: "r/*", Expires: 1700000000,
		Methods: []string{"pkg.Svc.Get"}, Permissions: []string{"cart.read", "cart.list"}})
	require.NoError(t, err)
	out, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, `{"iss":"idp","aud":["svc","other"],"exp":1700000000,"n":7,"scope":"openid cart.read cart.list",
		"scp":["base","cart.read","cart.list"],"m":"pkg.Svc.Get","ctx":{"who":"user:alice","res":"r/*"},"ok":true,"nil":null}`, string(out))
	assert.True(t, strings.HasPrefix(string(out), `{"iss":"idp","aud":`), "members keep the template's order: %s", out)
	assert.Equal(t, "scope", tmpl.ScopeClaim())
	assert.Equal(t, []Path{{"exp"}}, tmpl.Where(PlaceholderExpires))
	assert.False(t, tmpl.Uses(PlaceholderNotBefore))
}

func TestClaimTemplateErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"unknown placeholder", `{"a":"${who}"}`, "unknown placeholder ${who}"},
		{"list inside text", `{"scope":"x ${methods}"}`, "${methods} is a list: inside text write ${methods:space}"},
		{"modifier on a string", `{"a":"${sub:space}"}`, "only lists take :space or :comma"},
		{"unclosed", `{"a":"${sub"}`, "without a closing }"},
		{"placeholder in a name", `{"${sub}":1}`, "placeholders go in values"},
		{"duplicate name", `{"a":1,"a":2}`, `duplicate member name "a"`},
		{"not an object", `[1]`, "want a JSON object, got an array"},
		{"trailing data", `{} {}`, "data after the JSON object"},
		{"not JSON", `{"a":}`, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseClaimTemplate([]byte(tt.json))
			require.ErrorIs(t, err, ErrBadTemplate)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestPresetsAndMethodForms(t *testing.T) {
	v := Values{Issuer: "i", Subject: "s", Audience: "a", ID: "j", IssuedAt: 1, NotBefore: 1, Expires: 2,
		Methods: []string{"/shop.v1.Cart/Get"}, Permissions: []string{"cart.read"}, Resource: "carts/*"}
	want := map[string]string{
		PresetScopeMethods: `"scope":{"methods":["/shop.v1.Cart/Get"],"resource":"carts/*"}`,
		PresetMethods:      `"methods":["/shop.v1.Cart/Get"],"resource":"carts/*"`,
		PresetScopeString:  `"scope":"cart.read","resource":"carts/*"`,
		PresetScp:          `"scp":["cart.read"],"resource":"carts/*"`,
		PresetPermissions:  `"permissions":["cart.read"],"resource":"carts/*"`,
		PresetRoles:        `"roles":["cart.read"],"resource":"carts/*"`,
	}
	for _, p := range Presets() {
		t.Run(p.Name, func(t *testing.T) {
			claims, err := p.Template(true).Render(v)
			require.NoError(t, err)
			out, err := claims.MarshalJSON()
			require.NoError(t, err)
			assert.Contains(t, string(out), want[p.Name])
			assert.Contains(t, string(out), `"iss":"i","sub":"s"`)
			assert.NotEmpty(t, p.Typ)
		})
	}
	_, err := LookupPreset("nope")
	require.ErrorIs(t, err, ErrBadTemplate)

	for form, spelled := range map[MethodForm]string{"": "/shop.v1.Cart/Get", FormFull: "/shop.v1.Cart/Get",
		FormBare: "shop.v1.Cart/Get", FormDotted: "shop.v1.Cart.Get"} {
		assert.Equal(t, spelled, form.Spell("/shop.v1.Cart/Get"), form)
	}
}

// oauthForger forges grants in OAuth 2's layout: a scope string of
// permissions mapped from methods, no kid, an ES256 key.
func oauthForger(t *testing.T) *Forger {
	t.Helper()
	p, err := LookupPreset(PresetScopeString)
	require.NoError(t, err)
	key, err := token.DeriveKey(token.ES256, "shop-1", "shop test key")
	require.NoError(t, err)
	return &Forger{Keys: token.NewKeySet(key), Issuer: "https://idp.shop", Audience: "shop-api", Subject: "bob",
		Clock: clockwork.NewFakeClockAt(t0), Template: p.Template(false), Typ: p.Typ, NoKid: true,
		Algorithms: []string{token.ES256}, MaxTokenBytes: 4096,
		Scope:       token.Scope{Methods: []string{"/shop.v1.Cart/Get"}},
		Permissions: map[string]string{"/shop.v1.Cart/Get": "cart.read", "/shop.v1.Cart/Put": "cart.write"}}
}

// TestForgedGrantsDifferInOneThing forges every case in a non-reference
// layout and checks what each changed against the valid grant.
func TestForgedGrantsDifferInOneThing(t *testing.T) {
	f := oauthForger(t)
	valid, err := f.Valid()
	require.NoError(t, err)
	base := decode(t, valid)
	assert.Equal(t, Object{{"alg", "ES256"}, {"typ", "at+jwt"}}, base.header, "no kid: the target has one key")
	scope, _ := base.claims.Get("scope")
	assert.Equal(t, "cart.read", scope)

	forge := func(id string) decoded {
		t.Helper()
		tok, err := f.Forge(id)
		require.NoError(t, err, id)
		return decode(t, tok)
	}
	scopeOf := func(d decoded) any { v, _ := d.claims.Get("scope"); return v }
	assert.Equal(t, "cart.write", scopeOf(forge("SCP-001")), "another real permission of the map")
	assert.Equal(t, "cart.readonly", scopeOf(forge("SCP-005/extends")))
	assert.Equal(t, "cart.rea", scopeOf(forge("SCP-005/prefix")))
	assert.Equal(t, "jitbench-cart.read-lookalike", scopeOf(forge("SCP-005/contains")))

	d := forge("FMT-006/case-scope-beside")
	assert.Equal(t, "cart.write", scopeOf(d))
	look, ok := d.claims.Get("Scope")
	assert.True(t, ok)
	assert.Equal(t, "cart.read", look)
	assert.Equal(t, "Scope", d.claims[len(d.claims)-1].Name, "the look-alike comes last, where last-wins decoders take it")

	d = forge("FMT-006/dup-exp-last")
	var exps []any
	for _, m := range d.claims {
		if m.Name == "exp" {
			exps = append(exps, m.Value)
		}
	}
	validExp, _ := base.claims.Get("exp")
	require.Len(t, exps, 2, "exp twice")
	assert.Equal(t, validExp, exps[1], "the valid exp last")
	assert.NotEqual(t, validExp, exps[0])

	d = forge("FMT-006/case-exp-instead")
	_, hasExp := d.claims.Get("exp")
	upper, hasUpper := d.claims.Get("EXP")
	assert.False(t, hasExp)
	assert.True(t, hasUpper)
	assert.Equal(t, validExp, upper)

	d = forge("CLM-009/nbf-1e19")
	nbf, _ := d.claims.Get("nbf")
	assert.Equal(t, json.Number("1e19"), nbf)

	d = forge("CLM-010")
	assert.Equal(t, token.TypeIdentity, d.header[1].Value)

	d = forge("KEY-001/known-kid")
	jwk, _ := d.header.Get("jwk")
	kty, _ := jwk.(Object).Get("kty")
	assert.Equal(t, "EC", kty, "the embedded key is of the target's family")
	_, hasKid := d.header.Get("kid")
	assert.False(t, hasKid, "known-kid keeps the valid token's kid, which is none")

	tok, err := f.Forge("FMT-005")
	require.NoError(t, err)
	assert.Greater(t, len(tok), 4096)
	assert.Less(t, len(tok), 4096+8, "just over the limit")

	for _, id := range []string{"SIG-003/unknown-kid", "KEY-003/missing", "ALG-003", "SCP-002", "ALG-002/file"} {
		_, err := f.Forge(id)
		assert.ErrorIs(t, err, ErrNotApplicable, id)
	}
}

// TestForgerHighS checks SIG-005: the valid signature is low-s, its twin
// is high-s, and both verify under ECDSA alone.
func TestForgerHighS(t *testing.T) {
	f := oauthForger(t)
	key := f.keyOf(token.ES256)
	pub := key.Public.(*ecdsa.PublicKey)
	half := new(big.Int).Rsh(pub.Curve.Params().N, 1)
	for range 8 { // signatures are random: a few draws would meet a high s
		valid, err := f.Valid()
		require.NoError(t, err)
		twin, err := f.Forge("SIG-005")
		require.NoError(t, err)
		for i, tok := range []string{valid, twin} {
			input := tok[:strings.LastIndexByte(tok, '.')]
			sig, err := base64.RawURLEncoding.DecodeString(tok[len(input)+1:])
			require.NoError(t, err)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			digest := sha256.Sum256([]byte(input))
			assert.True(t, ecdsa.Verify(pub, digest[:], r, s), "both verify")
			assert.Equal(t, i == 1, s.Cmp(half) > 0, "valid is low-s, the twin high-s")
		}
	}
}

func TestHeaderValues(t *testing.T) {
	got, err := HeaderValues("ID-003", "", "tok")
	require.NoError(t, err)
	assert.Equal(t, []string{"tok", "tok"}, got)
	_, err = HeaderValues("ID-002/bare", "", "tok")
	assert.ErrorIs(t, err, ErrNotApplicable, "a bare token is the valid form of a header without a scheme")
	got, err = HeaderValues("ID-002/basic", "", "tok")
	require.NoError(t, err)
	assert.Equal(t, []string{"Basic tok"}, got)
}

// FuzzClaimTemplate feeds arbitrary JSON to the template parser and
// renders what it accepts: neither may panic, and a rendered template is JSON.
func FuzzClaimTemplate(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"${iss}","scope":{"methods":"${methods}"},"exp":"${exp}"}`,
		`{"scope":"${permissions:space}","aud":["${aud}","x"]}`,
		`{"a":"${","b":"${}","c":"${sub:comma}"}`,
		`{"a":{"b":{"c":[[["${methods}"]]]}}}`,
		`{"a":1e400,"b":-0,"c":"\u0000"}`,
		`{"a":1,"a":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := ParseClaimTemplate(data)
		if err != nil {
			if !errors.Is(err, ErrBadTemplate) {
				t.Fatalf("an error that does not wrap ErrBadTemplate: %v", err)
			}
			return
		}
		out, err := tmpl.Render(Values{Methods: []string{"m"}, Permissions: []string{"p"}})
		if err != nil {
			return
		}
		if _, err := out.MarshalJSON(); err != nil {
			return // a number the template held may not re-encode (1e400)
		}
	})
}
