package conformance_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/token"
)

// TestExampleConfigLoads checks the shipped example: it loads, describes
// `jitbench serve` on its defaults, and documents every key the loader knows.
func TestExampleConfigLoads(t *testing.T) {
	example := conformance.ExampleConfig()
	cfg, err := conformance.ParseConfig(conformance.ExampleConfigName, example)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7443", cfg.Address)
	assert.Equal(t, conformance.TwoToken, cfg.Profile)
	assert.Equal(t, "/demo.v1.Vault/Read", cfg.Method.Method)
	assert.JSONEq(t, `{"path":"secrets/db/password"}`, cfg.Method.JSON)
	assert.Equal(t, "/demo.v1.Vault/List", cfg.Stream.Method)
	assert.Equal(t, "/grpc.health.v1.Health/Check", cfg.Control.Method)
	assert.Equal(t, token.DevGrantIssuer, cfg.Grant.Name)
	assert.Equal(t, token.DevIdentityIssuer, cfg.Identity.Name)
	assert.Equal(t, token.DevAudience, cfg.Audience)
	assert.Equal(t, "secrets/*", cfg.Resource)
	assert.True(t, cfg.OneShot)
	require.NotNil(t, cfg.Broker)
	assert.Equal(t, conformance.Broker{Address: "127.0.0.1:7444", Audience: "jit.v1.Broker", Approver: "carol",
		ApproverGroups: []string{"security"}}, *cfg.Broker)
	assert.Equal(t, token.DefaultAlgorithms(), cfg.Algorithms)
	assert.Equal(t, token.DefaultLeeway, cfg.Leeway)
	assert.Equal(t, time.Hour, cfg.MaxGrantLifetime)
	assert.Equal(t, token.DefaultMaxTokenBytes, cfg.MaxTokenBytes)
	assert.True(t, cfg.KidRequired && cfg.TypChecked && cfg.StrictSignatures)
	assert.Equal(t, "Bearer", cfg.IdentityScheme)
	assert.Equal(t, "x-jit-grant", cfg.GrantHeader)
	assert.Equal(t, token.TypeGrant, cfg.GrantToken.Typ)
	require.NotNil(t, cfg.GrantToken.Claims)
	assert.Equal(t, "scope", cfg.GrantToken.Claims.ScopeClaim())

	text := string(example)
	keys := conformance.ConfigKeys()
	assert.Len(t, keys, 85)
	for _, k := range keys {
		leaf := k[strings.LastIndexByte(k, '.')+1:]
		assert.Contains(t, text, leaf+":", "the example documents %s", k)
	}
}

// TestParseConfigKeyFiles reads issuers from JWKS files named relative to the config.
func TestParseConfigKeyFiles(t *testing.T) {
	dir := t.TempDir()
	key, err := token.GenerateKey(token.ES256, "broker-1")
	require.NoError(t, err)
	private, err := token.MarshalKeySet([]*token.Key{key})
	require.NoError(t, err)
	public, err := token.MarshalKeySet([]*token.Key{key.PublicOnly()})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broker.jwks"), private, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "public.jwks"), public, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "req.bin"), []byte{0x0a, 0x01, 'x'}, 0o600))

	cfgPath := filepath.Join(dir, "target.yaml")
	body := `address: svc:443
profile: single-token
method: shop.v1.Cart.Get
payload_file: req.bin
keys:
  grant: {issuer: jit-broker, file: broker.jwks}
audience: shop.v1.Cart
leeway: 5s
algorithms: [ES256]
`
	require.NoError(t, os.WriteFile(cfgPath, []byte(body), 0o600))
	cfg, err := conformance.LoadConfig(cfgPath)
	require.NoError(t, err)
	assert.Equal(t, "/shop.v1.Cart/Get", cfg.Method.Method, "method names are normalised")
	assert.Equal(t, []byte{0x0a, 0x01, 'x'}, cfg.Method.Binary)
	assert.Equal(t, conformance.SingleToken, cfg.Profile)
	assert.Equal(t, "jit-broker", cfg.Grant.Name)
	signing, err := cfg.Grant.Keys.Signing()
	require.NoError(t, err)
	assert.Equal(t, "broker-1", signing.ID)
	assert.Nil(t, cfg.Identity.Keys, "single-token needs no identity issuer")
	assert.Equal(t, cfgPath, cfg.File)

	// A public-only key set cannot sign: refused at the file's line.
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.Replace(body, "broker.jwks", "public.jwks", 1)), 0o600))
	_, err = conformance.LoadConfig(cfgPath)
	require.ErrorIs(t, err, conformance.ErrInvalidConfig)
	assert.Contains(t, err.Error(), cfgPath+":6:")
	assert.Contains(t, err.Error(), "holds only a public key (ES256): the suite signs valid tokens with the issuer's PRIVATE test key")
}

// TestParseConfigErrors checks that every refusal names file:line:col of the offending node.
func TestParseConfigErrors(t *testing.T) {
	const valid = "address: 127.0.0.1:7443\nmethod: /demo.v1.Vault/Read\npayload: '{}'\nkeys: {dev: true}\naudience: demo.v1.Vault\n"
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"unknown top key", valid + "adress: x\n", `t.yaml:6:1: unknown key "adress" in the target config; known keys: address, tls,`},
		{"unknown nested key", valid + "broker: {address: b:1, aproover: carol}\n", `t.yaml:6:24: unknown key "aproover" in broker`},
		{"repeated key", valid + "audience: other\n", "t.yaml:6:1: audience appears twice"},
		{"bad duration", valid + "leeway: 30 seconds\n", `t.yaml:6:9: bad duration "30 seconds" for leeway`},
		{"negative duration", valid + "max_grant_lifetime: -1h\n", "t.yaml:6:21: max_grant_lifetime must not be negative"},
		{"missing address", strings.Replace(valid, "address: 127.0.0.1:7443\n", "", 1), "t.yaml:1:1: address is required"},
		{"missing payload", strings.Replace(valid, "payload: '{}'\n", "", 1), "payload (the request as JSON) or payload_file"},
		{"missing grant keys", strings.Replace(valid, "{dev: true}", "{dev: false}", 1), "t.yaml:4:7: keys.grant is required"},
		{"dev and files", strings.Replace(valid, "{dev: true}", "{dev: true, grant: {issuer: b, file: b.jwks}}", 1), "t.yaml:4:26: keys.dev: true uses the development keys"},
		{"missing key file", strings.Replace(valid, "{dev: true}", "{grant: {issuer: b, file: nowhere.jwks}}", 1), "t.yaml:4:33: keys.grant.file: "},
		{"bad profile", valid + "profile: three-token\n", `t.yaml:6:10: unknown profile "three-token"`},
		{"bad algorithm", valid + "algorithms: [EdDSA, PS256]\n", `t.yaml:6:21: algorithms: unknown signing algorithm "PS256"`},
		{"algorithms not a list", valid + "algorithms: EdDSA\n", "t.yaml:6:13: algorithms must be a list"},
		{"bad method", strings.Replace(valid, "/demo.v1.Vault/Read", "Read", 1), `t.yaml:2:9: method: method "Read": want /package.Service/Method`},
		{"payload and payload_file", valid + "payload_file: x.bin\n", "t.yaml:6:15: payload and payload_file exclude each other"},
		{"stream without method", valid + "stream: {payload: '{}'}\n", "t.yaml:6:9: stream.method is required"},
		{"not a mapping", valid + "tls: 3\n", "t.yaml:6:6: tls must be a mapping of keys, got the number 3"},
		{"not a boolean", valid + "one_shot: yes please\n", `t.yaml:6:11: one_shot must be true or false, got "yes please"`},
		{"half a client certificate", valid + "tls: {cert: example-target.yaml}\n", "t.yaml:6:6: tls.cert and tls.key go together"},
		{"bad header", valid + "headers: {grant: X-Grant}\n", `t.yaml:6:18: headers.grant: "X-Grant" is not a usable gRPC metadata name`},
		{"groups without approver", valid + "broker: {address: b:1, approver_groups: [security]}\n", "t.yaml:6:41: broker.approver_groups needs broker.approver"},
		{"broker without address", valid + "broker: {approver: carol}\n", "t.yaml:6:9: broker.address is required"},
		{"empty value", strings.Replace(valid, "audience: demo.v1.Vault", "audience: ''", 1), "t.yaml:5:11: audience must not be empty"},
		{"device for a file", strings.Replace(valid, "payload: '{}'\n", "payload_file: /dev/zero\n", 1), "t.yaml:3:15: payload_file: /dev/zero is not a regular file"},
		{"syntax", valid + "leeway: [30s\n", "t.yaml:7:1: "},
		{"alias", valid + "subject: &s alice\ntls: *s\n", "t.yaml:7:6: aliases (*s) are not supported"},
		{"two documents", valid + "---\naddress: x\n", "more than one YAML document"},
		{"empty file", "", "t.yaml:1:1: empty file"},
		{"unknown preset", valid + "tokens: {grant: {preset: jwt}}\n", `t.yaml:6:26: tokens.grant.preset: unknown preset "jwt" (known: scope.methods, methods,`},
		{"unknown placeholder", valid + "tokens: {grant: {claims: {sub: '${who}'}}}\n", "t.yaml:6:26: tokens.grant.claims: sub: unknown placeholder ${who}"},
		{"list inside text", valid + "tokens: {grant: {claims: {scope: 'x ${permissions}'}}}\n", "${permissions} is a list: inside text write ${permissions:space}"},
		{"claims not a mapping", valid + "tokens: {grant: {claims: [1]}}\n", "t.yaml:6:26: tokens.grant.claims must be a mapping of claims"},
		{"repeated claim", valid + "tokens: {grant: {claims: {a: 1, a: 2}}}\n", "a appears twice in tokens.grant.claims"},
		{"infinite claim", valid + "tokens: {grant: {claims: {a: .inf}}}\n", "tokens.grant.claims.a: .inf is not a finite number"},
		{"preset of an identity", valid + "tokens: {identity: {preset: scp}}\n", "t.yaml:6:29: tokens.identity.preset: only grants name what they allow"},
		{"bad method form", valid + "tokens: {grant: {method_form: Method}}\n", `tokens.grant.method_form: "Method" is not a form: want /pkg.Service/Method, pkg.Service/Method, pkg.Service.Method`},
		{"bad permission method", valid + "tokens: {grant: {permissions: {Get: cart.read}}}\n", `tokens.grant.permissions: method "Get"`},
		{"scheme with a space", valid + "headers: {grant: {name: x-grant, scheme: 'JIT grant'}}\n", `t.yaml:6:42: headers.grant.scheme: "JIT grant" is not a scheme`},
		{"two key sources", strings.Replace(valid, "{dev: true}", "{grant: {issuer: b, file: example-target.yaml, secret_env: X}}", 1),
			"t.yaml:4:15: keys.grant needs one key: file (a JWKS, JWK, PEM or DER private key), secret_file or secret_env"},
		{"secret not set", strings.Replace(valid, "{dev: true}", "{grant: {issuer: b, secret_env: JITBENCH_NO_SUCH_VARIABLE}}", 1),
			`keys.grant.secret_env: the environment variable "JITBENCH_NO_SUCH_VARIABLE" is empty or not set`},
		{"not a key file", strings.Replace(valid, "{dev: true}", "{grant: {issuer: b, file: example-target.yaml}}", 1),
			"keys.grant.file: unusable key file: example-target.yaml: found"},
		{"broker and revoke", valid + "broker: {address: b:1}\nrevoke: {url: 'http://h/${jti}'}\n", "t.yaml:7:9: broker and revoke are two ways to revoke a grant: keep one"},
		{"revoke without a hook", valid + "revoke: {}\n", "revoke needs one hook: command (a program and its arguments) or url"},
		{"revoke url", valid + "revoke: {url: 'ftp://h'}\n", `t.yaml:6:15: revoke.url: "ftp://h" is not an http or https URL`},
		{"key source without listen", valid + "key_source: {path: /k}\n", "t.yaml:6:13: key_source.listen is required"},
		{"key source path", valid + "key_source: {listen: '127.0.0.1:0', path: k}\n", "key_source.path must start with /"},
		{"kid required without kid", valid + "kid_required: true\ntokens: {grant: {kid: false}}\n", "t.yaml:6:15: kid_required: the grant layout says tokens carry no kid"},
		{"size limit too large", valid + "max_token_bytes: 99999999\n", "max_token_bytes: 99999999 is more than the 1048576"},
		{"negative size limit", valid + "max_token_bytes: -1\n", "max_token_bytes must be between 0 and"},
		{"resource the template cannot hold", valid + "resource: {pattern: 'a/*'}\ntokens: {grant: {claims: {sub: '${sub}', exp: '${exp}'}}}\n",
			`t.yaml:6:11: resource: the grant's claim template has no ${resource}, so no grant can be scoped to "a/*"`},
		{"one_shot of the wrong kind", valid + "one_shot: [x]\n", "t.yaml:6:11: one_shot must be a mapping of keys"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conformance.ParseConfig("t.yaml", []byte(tt.yaml))
			require.Error(t, err)
			require.ErrorIs(t, err, conformance.ErrInvalidConfig)
			var ce *conformance.ConfigError
			require.True(t, errors.As(err, &ce), "a *ConfigError: %v", err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

// TestParseConfigLayouts reads a service whose conventions are not the
// reference's: its own header scheme, an OAuth 2 scope string of
// permissions named by a map, dotted method names, no kid, an HMAC secret
// from the environment, one-shot claims of its own and a revoke hook; and
// writes the schema back as YAML that reads the same.
func TestParseConfigLayouts(t *testing.T) {
	t.Setenv("SHOP_SECRET", "a secret of the shop's test environment")
	const body = `address: svc:443
profile: single-token
method: /shop.v1.Cart/Get
payload: '{}'
headers:
  identity: {name: authorization, scheme: Token}
tokens:
  grant:
    preset: scope-string
    claims: {aud: "${aud}", tenant: acme, nbf: null, n: 7, big: 1e19}
    typ: at+jwt
    kid: false
    method_form: pkg.Service.Method
    permissions: {/shop.v1.Cart/Get: cart.read, shop.v1.Cart.Put: cart.write}
keys:
  grant: {issuer: "https://idp.shop", secret_env: SHOP_SECRET, kid: shop-1}
audience: shop-api
max_token_bytes: 4096
one_shot: {claims: {once: true}}
revoke: {command: [./revoke.sh, "${jti}"]}
`
	cfg, err := conformance.ParseConfig("t.yaml", []byte(body))
	require.NoError(t, err)
	assert.Equal(t, "Token", cfg.IdentityScheme)
	assert.Equal(t, conformance.TokenLayout{Claims: cfg.GrantToken.Claims, Typ: "at+jwt", NoKid: true, MethodForm: fakes.FormDotted,
		Permissions: map[string]string{"/shop.v1.Cart/Get": "cart.read", "/shop.v1.Cart/Put": "cart.write"}}, cfg.GrantToken)
	claims, err := cfg.GrantToken.Claims.Render(fakes.Values{Subject: "bob", Issuer: "i", Audience: "shop-api", Expires: 2,
		Permissions: []string{"cart.read"}})
	require.NoError(t, err)
	js, err := claims.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"iss":"i","sub":"bob","client_id":"bob","aud":"shop-api","exp":2,"iat":0,"jti":"","scope":"cart.read",
		"tenant":"acme","n":7,"big":1e19}`, string(js))
	assert.Equal(t, fakes.Object{{Name: "once", Value: true}}, cfg.OneShotClaims)
	assert.Equal(t, conformance.CommandRevoker{Args: []string{"./revoke.sh", "${jti}"}, Dir: "."}, cfg.Revoker)
	assert.Equal(t, []string{token.HS256}, cfg.Algorithms)
	k, err := cfg.Grant.Keys.Signing()
	require.NoError(t, err)
	assert.Equal(t, []byte("a secret of the shop's test environment"), k.Private)
	assert.Equal(t, "shop-1", k.ID)

	f, err := conformance.DecodeFile("t.yaml", []byte(body))
	require.NoError(t, err)
	out, err := yaml.Marshal(f)
	require.NoError(t, err)
	again, err := conformance.ParseConfig("again.yaml", out)
	require.NoError(t, err, "what the schema writes reads back:\n%s", out)
	assert.Equal(t, cfg.GrantToken.Claims.Root(), again.GrantToken.Claims.Root())
	assert.Equal(t, cfg.OneShotClaims, again.OneShotClaims)
	assert.Equal(t, cfg.IdentityScheme, again.IdentityScheme)
}
