package zoo

import (
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v4"
)

// TargetInfo is what a target config says of where a running service is.
type TargetInfo struct {
	// Addr is the gRPC service's host:port.
	Addr string
	// AdminURL is its admin API's base URL (Target.AdminURL); empty when unknown.
	AdminURL string
}

// WriteTargetConfig is WriteTargetConfigFor with the address alone: a
// member with revocation gets no revoke hook, its admin URL being unknown.
func WriteTargetConfig(kind Kind, dir, addr string) (string, error) {
	return WriteTargetConfigFor(kind, dir, TargetInfo{Addr: addr})
}

// WriteTargetConfigFor writes a jitbench target config for kind's member,
// whose keys GenerateKeys wrote to dir, to dir/target.yaml, as a user would
// from the service's documentation (its Convention), and returns its path.
// The address is t.Addr; a member with revocation gets a revoke url on
// t.AdminURL when it is known; a member that reads its keys from the suite
// gets a key_source on a free loopback port.
func WriteTargetConfigFor(kind Kind, dir string, t TargetInfo) (string, error) {
	c, err := Describe(kind)
	if err != nil {
		return "", err
	}
	has := func(cp string) bool { return slices.Contains(c.Capabilities, cp) }
	f := map[string]any{
		"address": t.Addr, "profile": c.Profile, "method": c.Unary.Method, "payload": c.Unary.JSON,
		"control":  map[string]any{"method": c.Control.Method, "payload": c.Control.JSON},
		"audience": c.Grant.Audience, "subject": c.Subject, "leeway": c.Leeway.String(),
	}
	headers, tokens, keys := map[string]any{}, map[string]any{}, map[string]any{}
	var algs []string
	for _, cr := range []struct {
		name string
		c    *Credential
	}{{"identity", c.Identity}, {"grant", &c.Grant}} {
		if cr.c == nil {
			continue
		}
		name := cr.name
		if c.Profile == SingleToken {
			name = "identity" // the one token travels in the identity header
		}
		headers[name] = map[string]any{"name": cr.c.Header, "scheme": cr.c.Scheme}
		tokens[cr.name] = targetLayout(c, cr.c, cr.name == "grant")
		keys[cr.name] = targetIssuer(cr.c, dir)
		for _, a := range cr.c.Algorithms {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
	}
	f["headers"], f["tokens"], f["keys"], f["algorithms"] = headers, tokens, keys, algs
	if has(CapStreamMethod) {
		f["stream"] = map[string]any{"method": c.Stream.Method, "payload": c.Stream.JSON}
	}
	if has(CapMaxLifetime) {
		f["max_grant_lifetime"] = c.MaxLifetime.String()
	}
	if has(CapSizeLimit) {
		f["max_token_bytes"] = c.MaxTokenBytes
	}
	f["kid_required"] = has(CapKidRequired)
	f["typ_checked"] = has(CapTypChecked)
	if has(CapResourceScope) {
		res := map[string]any{"pattern": c.Grant.Claims[c.Scope.ResourceClaim]}
		if c.OutOfScope != nil {
			res["out_of_scope_payload"] = c.OutOfScope.JSON
		}
		f["resource"] = res
	}
	if has(CapOneShot) {
		f["one_shot"] = map[string]any{"claims": map[string]any{c.Scope.OneShotClaim: true}}
	}
	if u := c.RevokeURL(t.AdminURL); has(CapRevocation) && u != "" {
		f["revoke"] = map[string]any{"url": u}
	}
	if has(CapSuiteKeys) {
		f["key_source"] = map[string]any{"listen": "127.0.0.1:0"}
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "target.yaml")
	return path, os.WriteFile(path, out, 0o600)
}

// targetLayout is a credential's claim template and JOSE header, from the
// static claims of a valid token and the claims it requires.
func targetLayout(c Convention, cr *Credential, grant bool) map[string]any {
	claims := map[string]any{}
	for k, v := range cr.Claims {
		switch {
		case k == "iss" || k == "sub":
			claims[k] = "${" + k + "}"
		case k == "aud":
			claims[k] = "${aud}"
			if _, isList := v.([]string); isList || cr.AudienceArray {
				claims[k] = []string{"${aud}"}
			}
		case grant && k == c.Scope.Claim && c.Scope.Form == "space-delimited":
			claims[k] = "${permissions:space}"
		case grant && k == c.Scope.Claim:
			claims[k] = "${permissions}"
		case grant && k == c.Scope.ResourceClaim:
			claims[k] = "${resource}"
		default:
			claims[k] = v
		}
	}
	for _, k := range []string{"iat", "exp", "nbf", "jti"} {
		if k == "iat" || k == "exp" || slices.Contains(cr.Required, k) {
			claims[k] = "${" + k + "}"
		}
	}
	l := map[string]any{"claims": claims, "typ": cr.Typ, "kid": cr.KeyID != ""}
	if grant {
		l["permissions"] = c.Scope.Permissions
	}
	return l
}

// targetIssuer is a credential's issuer and the test signer's key file.
func targetIssuer(cr *Credential, dir string) map[string]any {
	is := map[string]any{"issuer": cr.Issuer}
	path := filepath.Join(dir, cr.Key.PrivatePath)
	if cr.Key.PrivateFormat == KeySecretFile {
		is["secret_file"] = path
	} else {
		is["file"] = path
	}
	if cr.KeyID != "" && cr.Key.PrivateFormat != PrivateJWKS {
		is["kid"] = cr.KeyID
	}
	// The bytes the service holds, for ALG-002's file variant: its one PEM
	// file, or the <kid>.pem of the signing key in its key directory.
	switch cr.Key.Format {
	case KeyPEMSPKI:
		is["public_file"] = filepath.Join(dir, cr.Key.Path)
	case KeyPEMDir:
		is["public_file"] = filepath.Join(dir, cr.Key.Path, cr.KeyID+".pem")
	}
	return is
}
