package zoo

import (
	"fmt"
	"net/url"
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
	// SuiteKeys says the service reads its grant keys from a JWKS the suite
	// serves (scp-array started with Options.JWKSURL; oauth-scope always
	// does): the config gets a key_source and the convention of
	// Convention.WithSuiteKeys.
	SuiteKeys bool
	// JWKSURL, with SuiteKeys, is the URL the service reads its keys from:
	// key_source listens on its host:port and serves its path, so that
	// the suite serves the keys where the service looks. Empty: a free
	// loopback port, the suite's URL to be given to the service once
	// LoadConfig's key source serves (ServedKeys.URL).
	JWKSURL string
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
// (oauth-scope, or t.SuiteKeys) gets a key_source at t.JWKSURL or on a
// free loopback port. The suite then serves the public halves of the keys
// the config's keys.grant names, under their kids: the kid the grants
// carry.
func WriteTargetConfigFor(kind Kind, dir string, t TargetInfo) (string, error) {
	c, err := Describe(kind)
	if err != nil {
		return "", err
	}
	if t.SuiteKeys {
		if c, err = c.WithSuiteKeys(); err != nil {
			return "", fmt.Errorf("%w (TargetInfo.SuiteKeys)", err)
		}
	}
	has := func(cp string) bool { return slices.Contains(c.Capabilities, cp) }
	keySource := map[string]any{"listen": "127.0.0.1:0"}
	if t.JWKSURL != "" {
		if !has(CapSuiteKeys) {
			return "", fmt.Errorf("zoo: TargetInfo.JWKSURL: %s reads its keys from the suite only with TargetInfo.SuiteKeys", kind)
		}
		if keySource, err = keySourceAt(t.JWKSURL); err != nil {
			return "", err
		}
	}
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
		f["key_source"] = keySource
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "target.yaml")
	return path, os.WriteFile(path, out, 0o600)
}

// keySourceAt is the key_source that serves a JWKS at rawURL: its
// host:port to listen on and its path.
func keySourceAt(rawURL string) (map[string]any, error) {
	u, err := url.Parse(rawURL)
	bad := func(why string) error {
		return fmt.Errorf("zoo: TargetInfo.JWKSURL %q: %s: want http://host:port/path, where the suite's key source is to listen", rawURL, why)
	}
	switch {
	case err != nil:
		return nil, bad("not a URL")
	case u.Scheme != "http":
		return nil, bad("the suite serves keys over plain http")
	case u.Port() == "" || u.Hostname() == "":
		return nil, bad("no host and port")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.RawPath != "":
		return nil, bad("user info, a query, a fragment or an escaped path would not be served")
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return map[string]any{"listen": u.Host, "path": path}, nil
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
