package conformance_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

	text := string(example)
	keys := conformance.ConfigKeys()
	assert.Len(t, keys, 45)
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
	assert.Contains(t, err.Error(), "has no private key")
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
