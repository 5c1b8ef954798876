package token_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/token"
)

// A key written by MarshalKeySet and read back by ParseKeySet signs and
// verifies interchangeably with the original, private or public-only.
func TestKeySetRoundTrip(t *testing.T) {
	k := sharedKeys()
	all := []*token.Key{k.ed, k.es, k.rs, k.hs}
	for _, key := range all {
		for _, public := range []bool{false, true} {
			name := key.Algorithm + "/private"
			if public {
				name = key.Algorithm + "/public"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t)
				in := key
				if public {
					in = key.PublicOnly()
				}
				data, err := token.MarshalKeySet([]*token.Key{in})
				require.NoError(t, err)
				set, err := token.ParseKeySet(data)
				require.NoError(t, err)
				got := set.Keys()
				require.Len(t, got, 1)
				assert.Equal(t, key.ID, got[0].ID)
				assert.Equal(t, key.Algorithm, got[0].Algorithm)
				assert.Equal(t, in.Private == nil, got[0].Private == nil, "private material kept iff written")

				pin := func(c *token.Config) { c.Algorithms = []string{key.Algorithm} }
				// Original signs, the parsed key verifies.
				raw := f.signed(key, f.claims())
				v, err := token.NewGrantVerifier(set, f.config(pin))
				require.NoError(t, err)
				_, err = v.Verify(raw, defaultRequest())
				require.NoError(t, err)

				if got[0].Private == nil {
					return
				}
				// The parsed key signs, the original verifies.
				raw, _, err = token.NewIssuer(testIssuer, set, f.clock).Grant(f.spec())
				require.NoError(t, err)
				v, err = token.NewGrantVerifier(token.NewKeySet(key.PublicOnly()), f.config(pin))
				require.NoError(t, err)
				_, err = v.Verify(raw, defaultRequest())
				require.NoError(t, err)
			})
		}
	}
	t.Run("all four in one document", func(t *testing.T) {
		data, err := token.MarshalKeySet(all)
		require.NoError(t, err)
		assert.True(t, json.Valid(data))
		set, err := token.ParseKeySet(data)
		require.NoError(t, err)
		assert.Len(t, set.Keys(), 4)
		cur, err := set.Signing()
		require.NoError(t, err)
		assert.Equal(t, "ed-1", cur.ID, "the first key in the file signs")
	})
	t.Run("public document holds no private parts", func(t *testing.T) {
		var pub []*token.Key
		for _, key := range all[:3] {
			pub = append(pub, key.PublicOnly())
		}
		data, err := token.MarshalKeySet(pub)
		require.NoError(t, err)
		var doc struct{ Keys []map[string]any }
		require.NoError(t, json.Unmarshal(data, &doc))
		for _, jwk := range doc.Keys {
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				assert.NotContains(t, jwk, private, "kid %v", jwk["kid"])
			}
			assert.Equal(t, "sig", jwk["use"])
		}
	})
}

func TestParseKeySetErrors(t *testing.T) {
	okp := `"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"`
	tests := []struct {
		name string
		doc  string
		want string // regexp the error must match
	}{
		{"syntax error on line 3", "{\n  \"keys\": [\n    x\n  ]\n}", `^:3:5: invalid character 'x'`},
		{"syntax error on line 1", "{x", `^:1:2: invalid character 'x'`},
		{"truncated", "{\"keys\": [", `^:1:\d+: unexpected end of JSON input`},
		{"keys of the wrong type", `{"keys": 5}`, `^:1:10: .*cannot unmarshal number`},
		{"top level array", `[]`, `^:1:1: .*cannot unmarshal array`},
		{"empty document", ``, `^:1:\d+: unexpected end`},
		{"no keys", `{"keys": []}`, `^: the key set has no keys`},
		{"missing kid", `{"keys":[{` + okp + `,"alg":"EdDSA"}]}`, `^: key 0: missing "kid"`},
		{"missing alg", `{"keys":[{` + okp + `,"kid":"a"}]}`, `^: key 0: kid "a": unknown signing algorithm ""`},
		{"unknown alg", `{"keys":[{` + okp + `,"kid":"a","alg":"HS512"}]}`, `^: key 0: kid "a": unknown signing algorithm "HS512"`},
		{"alg none", `{"keys":[{` + okp + `,"kid":"a","alg":"none"}]}`, `unknown signing algorithm "none"`},
		{"alg not fitting an Ed25519 key", `{"keys":[{` + okp + `,"kid":"a","alg":"ES256"}]}`, `^: key 0: kid "a": key material ed25519.PublicKey does not fit alg ES256`},
		{"alg not fitting an HMAC secret", `{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg","kid":"h","alg":"EdDSA"}]}`, `does not fit alg EdDSA`},
		{"second key is bad", `{"keys":[{` + okp + `,"kid":"a","alg":"EdDSA"},{` + okp + `,"alg":"EdDSA"}]}`, `^: key 1: missing "kid"`},
		{"unsupported key type", `{"keys":[{"kty":"zz","kid":"a","alg":"EdDSA"}]}`, `^: .*unsupported key type`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.ParseKeySet([]byte(tc.doc))
			require.Error(t, err)
			assert.Regexp(t, regexp.MustCompile(tc.want), err.Error())
		})
	}
}

// RFC 7518 §3.2: an HS256 key MUST be at least 256 bits. A key file with a
// 3-byte secret should not load.
func TestParseKeySetRejectsShortHMACSecret(t *testing.T) {
	_, err := token.ParseKeySet([]byte(`{"keys":[{"kty":"oct","k":"AAAA","kid":"h","alg":"HS256"}]}`))
	assert.Error(t, err)
}

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}

	data, err := token.MarshalKeySet([]*token.Key{sharedKeys().ed.PublicOnly()})
	require.NoError(t, err)
	set, err := token.ReadKeyFile(write("good.json", string(data)))
	require.NoError(t, err)
	assert.Len(t, set.Keys(), 1)

	bad := write("bad.json", "{\n  \"keys\": [\n    x\n  ]\n}")
	_, err = token.ReadKeyFile(bad)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), bad+":3:5: "), err.Error())

	empty := write("empty.json", `{"keys":[]}`)
	_, err = token.ReadKeyFile(empty)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), empty+": "), err.Error())

	missing := filepath.Join(dir, "missing.json")
	_, err = token.ReadKeyFile(missing)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), missing)

	// An endless file is refused at the key file cap, not read into memory.
	_, err = token.ReadKeyFile("/dev/zero")
	assert.EqualError(t, err, "/dev/zero: the key file is larger than 1 MiB, its size limit")
}
