package zoo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseFilesJWKS reads key sets the files team's way: usable ES256 keys
// by kid, others skipped, and a set refused outright when it is malformed,
// ambiguous, publishes private material or leaves nothing usable.
func TestParseFilesJWKS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	point, err := key.PublicKey.Bytes() // 0x04 || x || y
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(point[1:33]), b64(point[33:])
	ec := func(kid, extra string) string {
		return fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q,"kid":%q%s}`, x, y, kid, extra)
	}
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	offCurve := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q,"kid":"bad"}`, x, b64(make([]byte, 32)))
	rsa := `{"kty":"RSA","n":"sXch","e":"AQAB","kid":"r1"}`

	for _, tc := range []struct {
		name, doc string
		kids      []string // the keys read; nil: the set is refused
		why       string   // the refusal names it
	}{
		{name: "one key", doc: set(ec("a", `,"alg":"ES256","use":"sig"`)), kids: []string{"a"}},
		{name: "two keys", doc: set(ec("a", ""), ec("b", "")), kids: []string{"a", "b"}},
		{name: "others skipped", doc: set(rsa, ec("", ""), ec("p384", `,"alg":"ES384"`), ec("enc", `,"use":"enc"`), ec("a", "")), kids: []string{"a"}},
		{name: "unknown members ignored", doc: `{"keys":[` + ec("a", `,"key_ops":["verify"]`) + `],"issuer":"x"}`, kids: []string{"a"}},
		{name: "nothing usable", doc: set(rsa), why: "no ES256 key"},
		{name: "empty", doc: set(), why: "no ES256 key"},
		{name: "no keys member", doc: `{"kes":[]}`, why: "no keys member"},
		{name: "keys null", doc: `{"keys":null}`, why: "no keys member"},
		{name: "not an object", doc: `[]`, why: "not a JSON object"},
		{name: "trailing data", doc: set(ec("a", "")) + `{}`, why: "after the JSON object"},
		{name: "duplicate member", doc: `{"keys":[],"keys":[` + ec("a", "") + `]}`, why: "duplicate key"},
		{name: "duplicate member in a key", doc: set(ec("a", `,"kid":"b"`)), why: "duplicate key"},
		{name: "one kid, two keys", doc: set(ec("a", ""), ec("a", "")), why: `kid "a" names two keys`},
		{name: "private EC key", doc: set(ec("a", `,"d":"AAAA"`)), why: "private key material"},
		{name: "secret key", doc: set(`{"kty":"oct","k":"c2VjcmV0","kid":"s"}`, ec("a", "")), why: "private key material"},
		{name: "off the curve", doc: set(offCurve), why: "not on P-256"},
		{name: "padded x", doc: set(strings.Replace(ec("a", ""), x, x+"=", 1)), why: "x is not 32 bytes"},
		{name: "short y", doc: set(strings.Replace(ec("a", ""), y, y[:40], 1)), why: "y is not 32 bytes"},
		{name: "kid not a string", doc: set(`{"kty":"EC","crv":"P-256","kid":7}`), why: "keys[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseFilesJWKS([]byte(tc.doc))
			if tc.kids == nil {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.why)
				return
			}
			require.NoError(t, err)
			assert.Len(t, keys, len(tc.kids))
			for _, kid := range tc.kids {
				require.Contains(t, keys, kid)
				assert.True(t, keys[kid].Equal(&key.PublicKey), kid)
			}
		})
	}
}

// TestFilesFetchKeys: only a 200 answer within the size bound is read.
func TestFilesFetchKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		why    string
	}{
		{name: "not found", status: http.StatusNotFound, body: `{"keys":[]}`, why: "HTTP 404"},
		{name: "too large", status: http.StatusOK, body: `{"keys":[],"pad":"` + strings.Repeat("a", filesMaxJWKSBytes) + `"}`, why: "larger than"},
		{name: "not JSON", status: http.StatusOK, body: `<html>`, why: "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := filesFetchKeys(t.Context(), srv.Client(), srv.URL)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.why)
		})
	}
}
