package conformance_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reports"
)

// initZoo starts kind's correct build with fresh keys and returns it, its
// convention, its key material and sample tokens its own signers minted,
// each written as its header carries it.
func initZoo(t *testing.T, kind zoo.Kind) (*zoo.Target, zoo.Convention, *zoo.Material, string, string) {
	t.Helper()
	dir := t.TempDir()
	m, err := zoo.GenerateKeys(kind, dir)
	require.NoError(t, err)
	c, err := zoo.Describe(kind)
	require.NoError(t, err)
	opts := zoo.Options{KeysDir: dir}
	if m.JWKS != nil {
		jwks, err := zoo.NewJWKSServer(*m.JWKS)
		require.NoError(t, err)
		t.Cleanup(func() { _ = jwks.Close() })
		opts.JWKSURL = jwks.URL
	}
	target, err := zoo.Start(kind, zoo.None, opts)
	require.NoError(t, err)
	t.Cleanup(target.Stop)
	sample := func(s *zoo.Signer, cr *zoo.Credential) string {
		tok, err := s.Sign(cr.ValidHeader(), cr.ValidClaims(time.Now()))
		require.NoError(t, err)
		return cr.Value(tok) // "Bearer <jwt>" where the service wants a scheme
	}
	var identity string
	if c.Identity != nil {
		identity = sample(m.Identity, c.Identity)
	}
	return target, c, m, identity, sample(m.Grant, &c.Grant)
}

// initOptions are what a user of kind's service knows: the address, the
// samples, the test keys, the headers and the leeway; a request only where
// the empty one is not enough.
func initOptions(c zoo.Convention, m *zoo.Material, addr, identity, grant string) conformance.InitOptions {
	o := conformance.InitOptions{Address: addr, Leeway: c.Leeway, ConfigDir: m.Dir,
		GrantKeys: filepath.Join(m.Dir, c.Grant.Key.PrivatePath)}
	if c.Identity != nil {
		o.SampleIdentity, o.SampleGrant = identity, grant
		o.IdentityKeys = filepath.Join(m.Dir, c.Identity.Key.PrivatePath)
		o.IdentityHeader, o.GrantHeader = c.Identity.Header, c.Grant.Header
	} else {
		o.SampleToken, o.IdentityHeader = grant, c.Grant.Header
	}
	if c.Kind == zoo.ScpArray {
		o.Payload = c.Unary.JSON // a path under the grant's res: only the service's own docs say the field
	}
	return o
}

// TestInitZooPasses writes a config with Init for each zoo member from a
// sample its own signer minted and its test keys, and runs the whole suite
// on the file as written: the correct build passes, skipping only cases
// whose capability the file does not declare, and negative cases ran.
func TestInitZooPasses(t *testing.T) {
	for _, kind := range zoo.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			target, c, m, identity, grant := initZoo(t, kind)
			got, err := conformance.Init(t.Context(), initOptions(c, m, target.Addr, identity, grant))
			require.NoError(t, err)
			t.Logf("%s:\n%s", kind, got.YAML)
			assert.Contains(t, string(got.YAML), "# Written by `jitbench conformance init`")
			assert.NotEmpty(t, got.Todo, "it says what it could not see")

			path := filepath.Join(m.Dir, "target.yaml")
			require.NoError(t, os.WriteFile(path, got.YAML, 0o600))
			cfg, err := conformance.LoadConfig(path)
			require.NoError(t, err, "the written config reads back")
			cfg.HandlerCalls = target.HandlerCalls
			res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{})
			require.NoError(t, err)
			negatives := 0
			for _, cs := range res.Cases {
				switch cs.Verdict {
				case reports.CaseFail:
					t.Errorf("%s fails: got %s %s: %s (%s)", cs.ID, cs.Got, cs.Rule, cs.Detail, cs.Message)
				case reports.CaseSkip:
					// An undeclared capability, or a forgery the keys do not allow (ALG-003 with one ES256 key).
					assert.True(t, strings.HasPrefix(cs.Detail, "needs: ") || strings.Contains(cs.Detail, "forge case not applicable"),
						"%s is skipped only for an undeclared capability: %s", cs.ID, cs.Detail)
				case reports.CasePass:
					if cc, _ := conformance.Lookup(cs.ID); cc.Negative(conformance.Profile(res.Profile)) {
						negatives++
					}
				}
			}
			assert.Greater(t, negatives, 25, "%s: negative cases ran: %s", kind, res.Summary())
			t.Logf("%s: %s", kind, res.Summary())
		})
	}
}
