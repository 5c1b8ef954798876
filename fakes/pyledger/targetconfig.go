package pyledger

import (
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/token"
)

// emptyPayloadFile is every method's request: an empty protobuf message is
// zero bytes, and the service has neither reflection nor a descriptor set.
const emptyPayloadFile = "empty.bin"

// targetConfigFile is the target config's name in the process's directory.
const targetConfigFile = "target.yaml"

// Subject is the caller the target config's credentials name.
const Subject = "teller-7"

// WriteTargetConfig writes the jitbench target config for the running
// service to Dir/target.yaml, as its team would from ledger.py's
// documentation, and returns its path: the single-token profile in
// x-ledger-token, a perms claim, the issuer's private key, the leeway and
// maximum lifetime the service was started with, its stream method and its
// revocation endpoint as the revoke hook.
func (p *Process) WriteTargetConfig() (string, error) {
	bare := ""
	typ := "JWT" // what PyJWT writes; the service does not check it
	noKid := false
	f := conformance.File{
		Address:     p.Addr,
		Profile:     "single-token",
		Method:      MethodGetBalance,
		PayloadFile: emptyPayloadFile,
		Control:     &conformance.CallFile{Method: MethodPing, PayloadFile: emptyPayloadFile},
		Headers:     &conformance.HeadersFile{Identity: &conformance.HeaderFile{Name: TokenHeader, Scheme: &bare}},
		Tokens: &conformance.TokensFile{Grant: &conformance.TokenFile{
			Claims: &conformance.ClaimsFile{Object: fakes.Object{
				{Name: "iss", Value: "${iss}"},
				{Name: "sub", Value: "${sub}"},
				{Name: "aud", Value: "${aud}"},
				{Name: "iat", Value: "${iat}"},
				{Name: "nbf", Value: "${nbf}"},
				{Name: "exp", Value: "${exp}"},
				{Name: "jti", Value: "${jti}"},
				{Name: PermsClaim, Value: "${permissions}"},
			}},
			Typ:         &typ,
			Kid:         &noKid,
			Permissions: map[string]string{MethodGetBalance: PermBalance, MethodStreamEntries: PermEntries},
		}},
		Keys: conformance.KeysFile{Grant: &conformance.IssuerFile{
			Issuer: Issuer, File: privateKeyFile, Alg: token.ES256, PublicFile: publicKeyFile,
		}},
		Audience:         Audience,
		Subject:          Subject,
		Leeway:           conformance.Duration(p.Leeway),
		Algorithms:       []string{token.ES256},
		MaxGrantLifetime: conformance.Duration(p.MaxLifetime),
		Stream:           &conformance.CallFile{Method: MethodStreamEntries, PayloadFile: emptyPayloadFile},
		Revoke:           &conformance.RevokeFile{URL: p.RevokeURL + "/tokens/${jti}/revoke"},
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("pyledger: target config: %w", err)
	}
	path := filepath.Join(p.Dir, targetConfigFile)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return "", fmt.Errorf("pyledger: write %s: %w", targetConfigFile, err)
	}
	return path, nil
}

// TargetConfig writes the target config (WriteTargetConfig) and loads it
// as jitbench does, which proves it valid.
func (p *Process) TargetConfig() (*conformance.Config, error) {
	path, err := p.WriteTargetConfig()
	if err != nil {
		return nil, err
	}
	cfg, err := conformance.LoadConfig(path)
	if err != nil {
		return nil, fmt.Errorf("pyledger: %w", err)
	}
	return cfg, nil
}
