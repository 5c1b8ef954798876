package zoo_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// caseID is the shape of a catalog case id.
var caseID = regexp.MustCompile(`^(OK|ID|FMT|SIG|ALG|KEY|CLM|SCP|SKW|DL|OUT)-\d{3}$`)

// TestCatchesCoversEveryBug checks the Bug → case ids table: every bug of
// every kind has at least one well-formed id, and the table names no bug
// that no kind has.
func TestCatchesCoversEveryBug(t *testing.T) {
	catches := zoo.Catches()
	used := map[zoo.Bug]bool{}
	for _, k := range zoo.Kinds() {
		bugs := zoo.Bugs(k)
		assert.Len(t, slices.Compact(slices.Sorted(slices.Values(bugs))), len(bugs), "%s lists a bug twice", k)
		for _, b := range bugs {
			used[b] = true
			ids := catches[b]
			require.NotEmpty(t, ids, "%s has no case ids", b)
			for _, id := range ids {
				assert.Regexp(t, caseID, id, "%s", b)
			}
		}
	}
	for b := range catches {
		assert.True(t, used[b], "%s is in the table but no kind has it", b)
	}
	catches[zoo.AlgNone][0] = "changed"
	assert.Equal(t, []string{"ALG-001"}, zoo.Catches()[zoo.AlgNone], "Catches returns a copy")
}

func TestParseKindAndBug(t *testing.T) {
	for _, k := range zoo.Kinds() {
		got, err := zoo.ParseKind(string(k))
		require.NoError(t, err)
		assert.Equal(t, k, got)
		for _, b := range zoo.Bugs(k) {
			got, err := zoo.ParseBug(k, b.String())
			require.NoError(t, err)
			assert.Equal(t, b, got)
		}
		for _, none := range []string{"", "none"} {
			got, err := zoo.ParseBug(k, none)
			require.NoError(t, err)
			assert.Equal(t, zoo.None, got)
		}
	}
	_, err := zoo.ParseKind("Methods-List")
	assert.ErrorContains(t, err, "methods-list", "names are exact; the error lists them")
	_, err = zoo.ParseBug(zoo.OAuthScope, string(zoo.NoSubjectBinding))
	assert.ErrorContains(t, err, "unknown bug", "a single-token member has no subject binding")
	_, err = zoo.ParseBug(zoo.BearerGrant, string(zoo.HS256PublicKey))
	assert.ErrorContains(t, err, "unknown bug", "a symmetric member has no public key")
}

// TestConventions checks each convention describes its service: the
// methods it names are in the permission map, the template's scope covers
// Unary and Stream but not Other, the capabilities are catalog names, and
// GenerateKeys writes the files its key sources name.
func TestConventions(t *testing.T) {
	known := []string{zoo.CapSizeLimit, zoo.CapECDSA, zoo.CapAsymmetric, zoo.CapKidRequired, zoo.CapKeySource,
		zoo.CapMaxLifetime, zoo.CapOneShot, zoo.CapTypChecked, zoo.CapResourceScope, zoo.CapStreamMethod, zoo.CapSuiteKeys, zoo.CapRevocation}
	for _, k := range zoo.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			c, err := zoo.Describe(k)
			require.NoError(t, err)
			assert.Equal(t, k, c.Kind)
			assert.Equal(t, k.TwoToken(), c.Profile == zoo.TwoToken)
			assert.Equal(t, k.TwoToken(), c.Identity != nil)
			scope := c.Grant.Claims[c.Scope.Claim]
			for _, m := range []zoo.Call{c.Unary, c.Stream, c.Other} {
				assert.Contains(t, c.Scope.Permissions, m.Method)
			}
			granted := func(m zoo.Call) bool {
				p := c.Scope.Permissions[m.Method]
				switch s := scope.(type) {
				case []string:
					return slices.Contains(s, p)
				case string:
					return slices.Contains(strings.Split(s, " "), p)
				}
				return false
			}
			assert.True(t, granted(c.Unary))
			assert.True(t, granted(c.Stream))
			assert.False(t, granted(c.Other))
			for _, cp := range c.Capabilities {
				assert.Contains(t, known, cp)
			}
			assert.Contains(t, c.Capabilities, zoo.CapStreamMethod)
			assert.Equal(t, c.Scope.ResourceClaim != "", c.OutOfScope != nil)
			assert.Equal(t, c.Scope.OneShotClaim != "", slices.Contains(c.Capabilities, zoo.CapOneShot))
			revocable := slices.Contains(c.Capabilities, zoo.CapRevocation)
			assert.Equal(t, revocable, strings.Contains(c.RevokePath, zoo.JTIPlaceholder), "a revoke path names the jti: %q", c.RevokePath)
			if revocable {
				assert.Contains(t, c.Grant.Required, "jti", "revocation is by jti: grants carry one")
			}

			m, err := zoo.GenerateKeys(k, t.TempDir())
			require.NoError(t, err)
			creds := []zoo.Credential{c.Grant}
			if c.Identity != nil {
				creds = append(creds, *c.Identity)
			}
			for _, cred := range creds {
				if cred.Key.Path != "" {
					assert.FileExists(t, filepath.Join(m.Dir, cred.Key.Path, keyFileIn(cred.Key.Format, cred.KeyID)))
				}
				assert.FileExists(t, filepath.Join(m.Dir, cred.Key.PrivatePath))
			}
			assert.Equal(t, c.Grant.KeyID, m.Grant.KeyID)
		})
	}
	_, err := zoo.Describe("opaque")
	assert.Error(t, err)
}

// keyFileIn is the signer's key file inside a key directory ("" for a key file).
func keyFileIn(format, kid string) string {
	if format == zoo.KeyPEMDir {
		return kid + ".pem"
	}
	return ""
}
