package diagnosis

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
)

// TestStrictDecoding: what the decoder of a diagnosis refuses, and why, in
// the words a summary quotes. The signature is never reached: no keys.
func TestStrictDecoding(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tok := func(header, payload string) string { return enc(header) + "." + enc(payload) + ".c2ln" }
	const h = `{"alg":"EdDSA","kid":"k"}`
	cases := []struct {
		name, raw, bad string
	}{
		{"valid", tok(h, `{"iss":"i","aud":["a","b"],"exp":1700000000.5,"nbf":0}`), ""},
		{"unknown members in any spelling", tok(h, `{"Scope":{"x":1},"scope":{"x":2}}`), ""},
		{"two segments", "a.b", "is not three dot-separated segments (it has 1 dot)"},
		{"padding", tok(h, `{}`) + "=", "has a signature that is not strict base64url"},
		{"standard base64", "a+b/." + enc(`{}`) + ".", "has a header that is not strict base64url"},
		{"repeated claim", tok(h, `{"exp":1,"exp":2}`), `repeats a member name (at "/exp")`},
		{"repeated nested name", tok(h, `{"scope":{"m":1,"m":2}}`), `repeats a member name (at "/scope/m")`},
		{"repeated header parameter", tok(`{"alg":"EdDSA","alg":"none"}`, `{}`), "has a header that repeats a member name"},
		{"case variant of a claim", tok(h, `{"EXP":1}`), `has "EXP" in its payload, a case variant of the exp claim`},
		{"case variant of a parameter", tok(`{"alg":"EdDSA","Alg":"none"}`, `{}`), `has "Alg" in its header, a case variant of the alg parameter`},
		{"invalid UTF-8", tok(h, "{\"sub\":\"\xff\"}"), "has a payload that is not one JSON object"},
		{"not an object", tok(h, `[1]`), "has a payload that is not one JSON object"},
		{"null", tok(h, `null`), "has a payload that is not one JSON object"},
		{"trailing data", tok(h, `{}{}`), "has a payload that is not one JSON object"},
		{"exp as a string", tok(h, `{"exp":"1700000000"}`), "has an exp claim that is not a JSON number"},
		{"negative iat", tok(h, `{"iat":-1}`), "has an iat claim that is not a time from 1970 to year 9999"},
		{"exp in milliseconds", tok(h, `{"exp":1700000000000}`), "it looks like milliseconds"},
		{"aud a number", tok(h, `{"aud":7}`), "has an aud claim that is neither a string nor an array of strings"},
		{"kid a number", tok(`{"alg":"EdDSA","kid":7}`, `{}`), "has a kid header that is not a string"},
		{"no alg", tok(`{"kid":"k"}`, `{}`), "has no alg header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCredential(roleGrant, "x-jit-grant", tc.raw, nil, nil)
			if tc.bad == "" {
				assert.Empty(t, c.bad)
				assert.True(t, c.decoded())
				return
			}
			assert.Contains(t, c.bad, tc.bad)
			assert.False(t, c.decoded())
		})
	}
}

// TestFaultReading: what a fault's kind and words say it does.
func TestFaultReading(t *testing.T) {
	cases := []struct {
		f                                 Fault
		abort                             codes.Code
		aborts, cuts, slows, keys, broker bool
	}{
		{f: Fault{Kind: "grpc-fault", What: "aborted /x.Y/Z with UNAVAILABLE"}, abort: codes.Unavailable, aborts: true},
		{f: Fault{Kind: "grpc-fault", What: "abort:code=7,p=0.5"}, abort: codes.PermissionDenied, aborts: true},
		{f: Fault{Kind: "grpc-fault", What: "abort"}, abort: codes.OK, aborts: true},
		{f: Fault{Kind: "grpc-fault", What: "x", Code: codes.Internal}, abort: codes.Internal, aborts: true},
		{f: Fault{Kind: "grpc-fault", What: "reset"}, cuts: true},
		{f: Fault{Kind: "grpc-fault", What: "latency:delay=1s"}, slows: true},
		{f: Fault{Kind: "network", What: "blackhole on client-service"}, cuts: true, slows: true},
		{f: Fault{Kind: "network", What: "added 2s latency to client-broker"}, broker: true},
		{f: Fault{Kind: "network", What: "reset on service-broker"}, keys: true},
		{f: Fault{Kind: "network-partition"}, cuts: true, slows: true},
		{f: Fault{Kind: "key-source-outage"}, keys: true},
		{f: Fault{Kind: "broker-down"}, keys: true, broker: true},
		{f: Fault{Kind: "clock-skew", What: "UNAVAILABLE abort reset latency"}},
	}
	for _, tc := range cases {
		t.Run(tc.f.Kind+" "+tc.f.What, func(t *testing.T) {
			x := newFault(tc.f)
			code, aborts := x.aborts()
			assert.Equal(t, tc.aborts, aborts, "aborts")
			assert.Equal(t, tc.abort, code, "abort code")
			assert.Equal(t, tc.cuts, x.cuts(), "cuts")
			assert.Equal(t, tc.slows, x.slows(), "slows")
			assert.Equal(t, tc.keys, x.cutsKeys(), "cuts keys")
			assert.Equal(t, tc.broker, x.cutsBroker(), "cuts the broker")
		})
	}
}
