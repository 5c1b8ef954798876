package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reports"
)

// The zoo's services were written as if by teams who never saw this
// repository: other header names, claim layouts, key formats and key
// sources. Each member's conventions are plain data (zoo.Convention); the
// test writes a target config from them, as a user would from their
// service's documentation, and holds the suite to its promise: a correct
// build passes every case its capabilities allow, and each buggy build
// fails the cases the zoo names for its bug.

// zooConfig writes the config of kind's member, whose keys are in dir, to
// dir/target.yaml; the address and the key source's listen address are
// filled in by the caller.
func zooConfig(t *testing.T, kind zoo.Kind, dir string) (zoo.Convention, string) {
	t.Helper()
	c, err := zoo.Describe(kind)
	require.NoError(t, err)
	has := func(cp string) bool { return slices.Contains(c.Capabilities, cp) }
	f := map[string]any{
		"address": "127.0.0.1:1", "profile": c.Profile, "method": c.Unary.Method, "payload": c.Unary.JSON,
		"control":  map[string]any{"method": c.Control.Method, "payload": c.Control.JSON},
		"audience": c.Grant.Audience, "subject": c.Subject, "leeway": c.Leeway.String(),
	}
	headers, tokens, keys := map[string]any{}, map[string]any{}, map[string]any{}
	var algs []string
	for _, cr := range []struct {
		name string
		c    *zoo.Credential
	}{{"identity", c.Identity}, {"grant", &c.Grant}} {
		if cr.c == nil {
			continue
		}
		name := cr.name
		if c.Profile == zoo.SingleToken {
			name = "identity" // the one token travels in the identity header
		}
		headers[name] = map[string]any{"name": cr.c.Header, "scheme": cr.c.Scheme}
		tokens[cr.name] = zooLayout(c, cr.c, cr.name == "grant")
		keys[cr.name] = zooIssuer(cr.c, dir)
		for _, a := range cr.c.Algorithms {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
	}
	f["headers"], f["tokens"], f["keys"], f["algorithms"] = headers, tokens, keys, algs
	if has(zoo.CapStreamMethod) {
		f["stream"] = map[string]any{"method": c.Stream.Method, "payload": c.Stream.JSON}
	}
	if has(zoo.CapMaxLifetime) {
		f["max_grant_lifetime"] = c.MaxLifetime.String()
	}
	if has(zoo.CapSizeLimit) {
		f["max_token_bytes"] = c.MaxTokenBytes
	}
	f["kid_required"] = has(zoo.CapKidRequired)
	f["typ_checked"] = has(zoo.CapTypChecked)
	if has(zoo.CapResourceScope) {
		res := map[string]any{"pattern": c.Grant.Claims[c.Scope.ResourceClaim]}
		if c.OutOfScope != nil {
			res["out_of_scope_payload"] = c.OutOfScope.JSON
		}
		f["resource"] = res
	}
	if has(zoo.CapOneShot) {
		f["one_shot"] = map[string]any{"claims": map[string]any{c.Scope.OneShotClaim: true}}
	}
	if has(zoo.CapSuiteKeys) {
		f["key_source"] = map[string]any{"listen": "127.0.0.1:0"}
	}
	out, err := yaml.Marshal(f)
	require.NoError(t, err)
	path := filepath.Join(dir, "target.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return c, path
}

// zooLayout is a credential's claim template and JOSE header, from the
// static claims of a valid token and the claims it requires.
func zooLayout(c zoo.Convention, cr *zoo.Credential, grant bool) map[string]any {
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

// zooIssuer is a credential's issuer and the test signer's key file.
func zooIssuer(cr *zoo.Credential, dir string) map[string]any {
	is := map[string]any{"issuer": cr.Issuer}
	path := filepath.Join(dir, cr.Key.PrivatePath)
	if cr.Key.PrivateFormat == zoo.KeySecretFile {
		is["secret_file"] = path
	} else {
		is["file"] = path
	}
	if cr.KeyID != "" && cr.Key.PrivateFormat != zoo.PrivateJWKS {
		is["kid"] = cr.KeyID
	}
	// The bytes the service holds, for ALG-002's file variant: its one PEM
	// file, or the <kid>.pem of the signing key in its key directory.
	switch cr.Key.Format {
	case zoo.KeyPEMSPKI:
		is["public_file"] = filepath.Join(dir, cr.Key.Path)
	case zoo.KeyPEMDir:
		is["public_file"] = filepath.Join(dir, cr.Key.Path, cr.KeyID+".pem")
	}
	return is
}

// zooRun starts kind's build with bug and runs the cases run selects (all when empty) against it.
func zooRun(t *testing.T, kind zoo.Kind, bug zoo.Bug, run ...string) *reports.ConformanceResult {
	t.Helper()
	dir := t.TempDir()
	_, err := zoo.GenerateKeys(kind, dir)
	require.NoError(t, err)
	_, path := zooConfig(t, kind, dir)
	cfg, err := conformance.LoadConfig(path)
	require.NoError(t, err)
	opts := zoo.Options{KeysDir: dir}
	if served, ok := cfg.KeySource.(*conformance.ServedKeys); ok {
		require.NoError(t, served.Start())
		t.Cleanup(func() { _ = served.Close() })
		opts.JWKSURL = served.URL()
	}
	target, err := zoo.Start(kind, bug, opts)
	require.NoError(t, err)
	t.Cleanup(target.Stop)
	cfg.Address, cfg.HandlerCalls = target.Addr, target.HandlerCalls
	res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: run})
	require.NoError(t, err, "%s/%s", kind, bug)
	return res
}

// TestZooCorrectBuildsPass runs the whole catalog against the correct
// build of each zoo member: nothing fails, and what is skipped is skipped
// for a capability the member does not have.
func TestZooCorrectBuildsPass(t *testing.T) {
	for _, kind := range zoo.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			res := zooRun(t, kind, zoo.None)
			var lines []string
			for _, c := range res.Cases {
				if c.Verdict == reports.CaseFail {
					lines = append(lines, fmt.Sprintf("%s %s: got %s %s (%s)", c.ID, c.Rule, c.Got, c.Detail, c.Message))
				}
				if c.Verdict == reports.CaseSkip {
					assert.True(t, strings.HasPrefix(c.Detail, "needs: ") || c.Detail != "", "%s is skipped for a reason", c.ID)
				}
			}
			assert.Empty(t, lines, "the correct %s build fails no case", kind)
			assert.False(t, res.Failed())
			s := res.Summary()
			assert.Greater(t, s.Passed, 30, "%s: %s", kind, s)
			if c, _ := zoo.Describe(kind); c.Grant.Key.Format == zoo.KeyPEMSPKI || c.Grant.Key.Format == zoo.KeyPEMDir {
				assert.True(t, variantRan(res, "ALG-002", "file"), "%s: ALG-002 MACs with the bytes of the service's key file", kind)
			}
			t.Logf("%s: %s", kind, s)
		})
	}
}

// TestZooBugsAreCaught runs, against every buggy build of every member,
// the cases the zoo names for its bug: each of them fails.
func TestZooBugsAreCaught(t *testing.T) {
	catches := zoo.Catches()
	for _, kind := range zoo.Kinds() {
		for _, bug := range zoo.Bugs(kind) {
			t.Run(string(kind)+"/"+string(bug), func(t *testing.T) {
				res := zooRun(t, kind, bug, catches[bug]...)
				failed := map[string]string{}
				for _, c := range res.Cases {
					if c.Verdict == reports.CaseFail {
						failed[c.ID] = c.Rule
					}
				}
				var missed []string
				for _, id := range catches[bug] {
					if _, ok := failed[id]; !ok {
						missed = append(missed, id+" ("+verdictOf(res, id)+")")
					}
				}
				sort.Strings(missed)
				assert.Empty(t, missed, "%s/%s: the cases that must catch it; it failed %v", kind, bug, failed)
			})
		}
	}
}

// verdictOf says how case id ended, for a message.
func verdictOf(res *reports.ConformanceResult, id string) string {
	for _, c := range res.Cases {
		if c.ID == id {
			return string(c.Verdict) + ": " + c.Got + " " + c.Detail
		}
	}
	return "not run"
}

// variantRan reports whether case id's variant name ran (was not skipped).
func variantRan(res *reports.ConformanceResult, id, name string) bool {
	for _, c := range res.Cases {
		for _, v := range c.Variants {
			if c.ID == id && v.Name == name {
				return !v.Skipped
			}
		}
	}
	return false
}
