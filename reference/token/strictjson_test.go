package token_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// rawPayload signs payload, exact JSON text, under a well-formed grant header
// (or header, when given) with the trusted EdDSA key.
func rawPayload(f *fixture, payload string, header ...string) string {
	f.tb.Helper()
	h := seg(f.tb, hdr(token.EdDSA, "ed-1", token.TypeGrant))
	if len(header) > 0 {
		h = seg(f.tb, header[0])
	}
	input := h + "." + seg(f.tb, payload)
	return input + "." + signature(f.tb, f.keys.ed, input)
}

// members is a valid grant payload at the fixture's clock as JSON members,
// each replaced or dropped by name through edit (nil drops it).
func members(f *fixture, edit map[string]*string) []string {
	now := f.clock.Now().Unix()
	base := []struct{ name, value string }{
		{"iss", `"` + testIssuer + `"`}, {"sub", `"` + alice + `"`}, {"aud", `"` + testAudience + `"`},
		{"jti", `"strict-1"`}, {"iat", strconv.FormatInt(now, 10)}, {"nbf", strconv.FormatInt(now, 10)}, {"exp", strconv.FormatInt(now+600, 10)},
		{"scope", `{"methods":["` + readMethod + `"],"resource":"secrets/team-a/*"}`},
	}
	var out []string
	for _, m := range base {
		v := &m.value
		if e, ok := edit[m.name]; ok {
			v = e
		}
		if v != nil {
			out = append(out, `"`+m.name+`":`+*v)
		}
	}
	return out
}

func object(ms ...string) string { return "{" + strings.Join(ms, ",") + "}" }

func str(s string) *string { return &s }

// Claim and header names are decoded exactly (finding 4): a duplicate name,
// at any depth, and a case variant of a name the verifier reads are refused
// as GRANT_MALFORMED naming the member, before any other check.
func TestStrictClaimNames(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now().Unix()
	past, future := strconv.FormatInt(now-3600, 10), strconv.FormatInt(now+300, 10)
	valid := members(f, nil)
	tests := []struct {
		name    string
		payload string
		header  string
		claim   string // metadata "claim"
		param   string // metadata "header"
		message string
	}{
		{name: "exp then EXP", payload: object(append(members(f, map[string]*string{"exp": str(past)}), `"EXP":`+future)...),
			claim: "exp", message: `the token's payload has "EXP", a case variant of the exp claim: names are case-sensitive`},
		{name: "EXP then exp", payload: object(append([]string{`"EXP":` + future}, members(f, map[string]*string{"exp": str(past)})...)...),
			claim: "exp"},
		{name: "Exp without exp", payload: object(append(members(f, map[string]*string{"exp": nil}), `"Exp":`+future)...), claim: "exp"},
		{name: "exp twice", payload: object(append(members(f, map[string]*string{"exp": str(past)}), `"exp":`+future)...),
			claim: "exp", message: "the token's payload has the exp claim twice: names must be unique"},
		{name: "exp twice, one escaped", payload: object(append(valid, `"\u0065xp":`+future)...), claim: "exp"},
		{name: "Scope beside scope", payload: object(append(valid, `"Scope":{"methods":["/*"]}`)...), claim: "scope"},
		{name: "scope twice", payload: object(append(valid, `"scope":{"methods":["/*"]}`)...), claim: "scope"},
		{name: "Methods inside scope", payload: strings.Replace(object(valid...), `"resource"`, `"Methods":["/*"],"resource"`, 1), claim: "scope.methods"},
		{name: "methods twice inside scope", payload: strings.Replace(object(valid...), `"resource"`, `"methods":["/*"],"resource"`, 1), claim: "scope.methods"},
		{name: "RESOURCE inside scope", payload: strings.Replace(object(valid...), `"resource"`, `"RESOURCE":"","resource"`, 1), claim: "scope.resource"},
		{name: "Sub", payload: object(append(valid, `"Sub":"bob"`)...), claim: "sub"},
		{name: "Iss", payload: object(append(valid, `"Iss":"x"`)...), claim: "iss"},
		{name: "AUD", payload: object(append(valid, `"AUD":"x"`)...), claim: "aud"},
		{name: "Jti", payload: object(append(valid, `"Jti":"x"`)...), claim: "jti"},
		{name: "NBF", payload: object(append(valid, `"NBF":0`)...), claim: "nbf"},
		{name: "IAT", payload: object(append(valid, `"IAT":0`)...), claim: "iat"},
		{name: "One_Shot", payload: object(append(valid, `"One_Shot":true`)...), claim: "one_shot"},
		{name: "RID", payload: object(append(valid, `"RID":"r"`)...), claim: "rid"},
		{name: "sub with a long s (Unicode folding)", payload: object(append(members(f, map[string]*string{"sub": nil}), `"ſub":"alice"`)...), claim: "sub"},
		{name: "an unknown member twice", payload: object(append(valid, `"xyz":1`, `"xyz":2`)...),
			message: "the token's payload repeats a member name: names must be unique"},
		{name: "a repeated name inside an unknown member", payload: object(append(valid, `"xyz":{"a":1,"a":2}`)...)},
		{name: "a repeated name inside an array", payload: object(append(valid, `"xyz":[{"a":1,"a":2}]`)...)},
		{name: "invalid UTF-8 in sub", payload: object(members(f, map[string]*string{"sub": str("\"ali\xffce\"")})...)},
		{name: "data after the object", payload: object(valid...) + " {}"},
		{name: "one_shot as a string", payload: object(append(valid, `"one_shot":"true"`)...), claim: "one_shot",
			message: "the one_shot claim has the wrong JSON type"},
		{name: "a method that is a number", payload: strings.Replace(object(valid...), `"methods":[`, `"methods":[1,`, 1), claim: "scope.methods"},
		{name: "sub as a number", payload: object(members(f, map[string]*string{"sub": str("1")})...), claim: "sub"},
		{name: "exp as a string", payload: object(members(f, map[string]*string{"exp": str(`"` + future + `"`)})...), claim: "exp",
			message: "the exp claim is not a JSON number"},

		{name: "alg twice", header: `{"alg":"EdDSA","kid":"ed-1","typ":"jit-grant+jwt","alg":"EdDSA"}`, param: "alg",
			message: "the token's header has the alg parameter twice: names must be unique"},
		{name: "ALG beside alg", header: `{"alg":"EdDSA","ALG":"none","kid":"ed-1","typ":"jit-grant+jwt"}`, param: "alg"},
		{name: "typ twice", header: `{"alg":"EdDSA","kid":"ed-1","typ":"jit-id+jwt","typ":"jit-grant+jwt"}`, param: "typ"},
		{name: "Kid", header: `{"alg":"EdDSA","kid":"ed-1","Kid":"hs-1","typ":"jit-grant+jwt"}`, param: "kid"},
		{name: "Crit", header: `{"alg":"EdDSA","kid":"ed-1","typ":"jit-grant+jwt","Crit":["exp"]}`, param: "crit"},
		{name: "JKU", header: `{"alg":"EdDSA","kid":"ed-1","typ":"jit-grant+jwt","JKU":"https://example.invalid/"}`, param: "jku"},
		{name: "an unknown header parameter twice", header: `{"alg":"EdDSA","kid":"ed-1","typ":"jit-grant+jwt","x":1,"x":1}`},
		{name: "header not an object", header: `"EdDSA"`, message: "the token's header is not one well-formed JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := tc.payload
			if payload == "" {
				payload = object(valid...)
			}
			var raw string
			if tc.header != "" {
				raw = rawPayload(f, payload, tc.header)
			} else {
				raw = rawPayload(f, payload)
			}
			for name, verify := range map[string]func() error{
				"Verify": func() error { _, err := f.verifier().Verify(raw, defaultRequest()); return err },
				"Parse":  func() error { _, err := f.verifier().Parse(raw); return err },
			} {
				re := requireDenied(t, verify(), reason.GrantMalformed, raw)
				assert.Equal(t, tc.claim, re.Metadata["claim"], "%s: %s", name, re.Message)
				assert.Equal(t, tc.param, re.Metadata["header"], "%s: %s", name, re.Message)
				if tc.message != "" {
					assert.Equal(t, tc.message, re.Message, name)
				}
				assert.NotContains(t, re.Message, "\n")
			}
		})
	}
}

// The control for the table above: the same payload builder makes a valid
// grant, and members the verifier does not read may be spelled any way,
// even as case variants of each other.
func TestStrictClaimNamesAccepted(t *testing.T) {
	f := newFixture(t)
	valid := members(f, nil)
	tests := []struct {
		name    string
		payload string
	}{
		{"the valid grant", object(valid...)},
		{"unknown members in two cases", object(append(valid, `"xyz":1`, `"XYZ":2`)...)},
		{"an unknown member near a known name", object(append(valid, `"expires":1`, `"subject":"bob"`, `"scopes":{"methods":["/*"]}`)...)},
		{"groups is an identity claim, unknown to a grant", object(append(valid, `"Groups":["admin"]`)...)},
		{"an unknown member inside scope", strings.Replace(object(valid...), `"resource"`, `"Resources":"x","resource"`, 1)},
		{"the same name in two different objects", object(append(valid, `"xyz":{"exp":1,"sub":"x"}`)...)},
		{"escaped names", strings.Replace(object(valid...), `"sub"`, `"\u0073ub"`, 1)},
		{"null optional members", object(append(valid, `"rid":null`, `"one_shot":null`)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := rawPayload(f, tc.payload)
			g, err := f.verifier().Verify(raw, defaultRequest())
			require.NoError(t, err)
			assert.Equal(t, alice, g.Subject)
			assert.Equal(t, []string{readMethod}, g.Scope.Methods)
			assert.Equal(t, f.clock.Now().Add(grantTTL), g.ExpiresAt)
		})
	}
}

// The identity verifier reads groups, so there a case variant of it is refused.
func TestStrictIdentityClaimNames(t *testing.T) {
	f := newFixture(t)
	for _, extra := range []string{`"Groups":["admin"]`, `"groups":["sre"],"groups":["admin"]`} {
		input := seg(t, hdr(token.EdDSA, "ed-1", token.TypeIdentity)) + "." +
			seg(t, strings.Replace(object(members(f, map[string]*string{"iss": str(`"` + testIDP + `"`), "scope": nil})...), "{", "{"+extra+",", 1))
		raw := input + "." + signature(t, f.keys.ed, input)
		_, err := f.identityVerifier().Verify(raw)
		re := requireDenied(t, err, reason.IdentityMalformed, raw)
		assert.Equal(t, "groups", re.Metadata["claim"], re.Message)
		assert.Equal(t, string(reason.GrantMalformed), re.Metadata["cause"])
	}
}
