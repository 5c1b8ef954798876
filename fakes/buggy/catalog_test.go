package buggy

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/fakes"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
)

// probe is one named call of the comparison catalog.
type probe struct {
	name string
	call call
	// twice sends the call twice and keeps the second outcome (a one-shot replay).
	twice bool
}

// run sends p to tg.
func (p probe) run(t *testing.T, tg *target) outcome {
	t.Helper()
	out := tg.do(t, p.call)
	if p.twice {
		require.Equal(t, codes.OK, out.code, "%s: the first use passes: %+v", p.name, out)
		out = tg.do(t, p.call)
	}
	return out
}

// catalog is every forged grant and identity of the conformance catalog
// (named "grant ID/variant" and "identity ID/variant"), plus the calls the
// forger cannot make: missing credentials, streams, a long-expired grant.
func catalog(t *testing.T, f *fixture) []probe {
	t.Helper()
	valid := f.valid()
	var out []probe
	for _, c := range f.grants.Cases() {
		for _, v := range c.Variants {
			forged, err := f.grants.Mutate(c.ID+"/"+v, f.grant)
			if errors.Is(err, fakes.ErrNotApplicable) {
				continue
			}
			require.NoError(t, err)
			p := probe{name: "grant " + c.ID + "/" + v, call: valid, twice: c.ID == "CLM-008"}
			p.call.grant = forged
			out = append(out, p)
		}
	}
	for _, c := range f.ids.Cases() {
		for _, v := range c.Variants {
			p := probe{name: "identity " + c.ID + "/" + v, call: valid}
			if c.Header {
				auth, err := fakes.IdentityHeaderValues(c.ID+"/"+v, f.identity)
				require.NoError(t, err)
				p.call.auth = auth
			} else {
				forged, err := f.ids.Mutate(c.ID+"/"+v, f.identity)
				if errors.Is(err, fakes.ErrNotApplicable) {
					continue
				}
				require.NoError(t, err)
				p.call.auth = []string{"Bearer " + forged}
			}
			out = append(out, p)
		}
	}
	bearer := []string{"Bearer " + f.identity}
	longAgo := clockwork.NewFakeClockAt(f.clock.Now().Add(-2*time.Hour - 5*time.Minute))
	return append(out,
		probe{name: "OK-001", call: valid},
		probe{name: "ID-001", call: call{path: valid.path, grant: f.grant}},
		probe{name: "grant missing", call: call{path: valid.path, auth: bearer}},
		probe{name: "grant expired 2h ago", call: call{path: valid.path, auth: bearer,
			grant: issueGrant(t, longAgo, "secrets/*", demov1.Vault_Read_FullMethodName)}},
		probe{name: "List OK", call: call{list: true, path: "secrets/", auth: bearer, grant: f.listGrant}},
		probe{name: "SCP-004", call: call{list: true, path: "secrets/"}},
		probe{name: "SCP-004 identity only", call: call{list: true, path: "secrets/", auth: bearer}},
		probe{name: "SCP-002 List", call: call{list: true, path: "public/", auth: bearer, grant: f.listGrant}},
	)
}

// TestCorrectServiceMatchesReference runs the whole catalog against the
// service without a bug and against the reference: the same code and
// reason every time, the handler only for allowed calls, no token echoed.
// This is the baseline the bug comparisons stand on.
func TestCorrectServiceMatchesReference(t *testing.T) {
	f := newFixture(t)
	_, clean := startService(t, "", f)
	ref := startReference(t, f)
	for _, p := range catalog(t, f) {
		want, got := p.run(t, ref), p.run(t, clean)
		assert.Equal(t, want.code, got.code, "%s: %s", p.name, got.message)
		assert.Equal(t, want.reason, got.reason, "%s: %s", p.name, got.message)
		assert.Equal(t, got.code == codes.OK, got.ran, "%s: the handler runs only for allowed calls", p.name)
		assert.False(t, got.echoed, "%s echoes a credential: %s", p.name, got.message)
	}
}

// deviations lists, per bug, the catalog calls whose code (or echo) differs
// from the correct service's. Token-echo is computed in the test: it differs
// on every refusal that has a token to quote.
var deviations = map[string][]string{
	AlgNone:        {"grant ALG-001/none", "identity ALG-001/none"},
	HS256PublicKey: {"grant ALG-002/raw", "grant ALG-002/pem", "identity ALG-002/raw", "identity ALG-002/pem"},
	NoExpCheck: {"grant CLM-001/expired", "grant CLM-002/missing", "grant SKW-002/beyond",
		"identity ID-004/expired", "identity CLM-001/expired", "identity CLM-002/missing", "identity SKW-002/beyond",
		"grant expired 2h ago"},
	HourLeeway: {"grant CLM-001/expired", "grant CLM-003/nbf", "grant CLM-003/iat", "grant SKW-002/beyond", "grant SKW-003/behind",
		"identity ID-004/expired", "identity CLM-001/expired", "identity CLM-003/nbf", "identity CLM-003/iat",
		"identity SKW-002/beyond", "identity SKW-003/behind"},
	UnknownOnParseError: {"grant FMT-001/two", "grant FMT-001/one", "grant FMT-001/four",
		"grant FMT-002/base64", "grant FMT-002/std-alphabet", "grant FMT-002/payload-json", "grant FMT-002/header-json",
		"grant FMT-004/exp-string", "grant FMT-004/iat-string",
		"grant FMT-006/case-exp-beside", "grant FMT-006/case-exp-instead", "grant FMT-006/case-sub-beside",
		"grant FMT-006/case-scope-beside", "grant FMT-006/case-scope-instead",
		"grant FMT-006/dup-exp-last", "grant FMT-006/dup-exp-first", "grant FMT-006/dup-scope-last",
		"grant CLM-009/exp-1e19", "grant CLM-009/exp-1e308", "grant CLM-009/nbf-1e19", "grant CLM-009/nbf-int64", "grant CLM-009/nbf-negative",
		"identity FMT-001/two", "identity FMT-001/one", "identity FMT-001/four",
		"identity FMT-002/base64", "identity FMT-002/std-alphabet", "identity FMT-002/payload-json", "identity FMT-002/header-json",
		"identity FMT-004/exp-string", "identity FMT-004/iat-string",
		"identity FMT-006/case-exp-beside", "identity FMT-006/case-exp-instead", "identity FMT-006/dup-exp-last", "identity FMT-006/dup-exp-first",
		"identity CLM-009/exp-1e19", "identity CLM-009/exp-1e308", "identity CLM-009/nbf-1e19", "identity CLM-009/nbf-int64", "identity CLM-009/nbf-negative"},
	PDMissingIdentity:   {"ID-001", "SCP-004"},
	NoStreamInterceptor: {"SCP-004", "SCP-004 identity only", "SCP-002 List"},
	KidFilePath:         {"grant KEY-005/traversal"},
	NoAudCheck:          {"grant CLM-006/audience", "identity CLM-006/audience"},
	ScopeIgnored: {"grant SCP-001/method", "grant SCP-002/resource", "grant SCP-005/extends", "grant SCP-005/prefix",
		"grant SCP-005/contains", "SCP-002 List"},
}

// nothingToQuote are the refusals where token-echo has no token to quote:
// a credential missing, refused by its header before it is read, or made of
// dots only.
var nothingToQuote = []string{
	"identity ID-002/basic", "identity ID-002/bare", "identity ID-003/twice",
	"grant FMT-003/dots", "identity FMT-003/dots",
	"ID-001", "grant missing", "SCP-004", "SCP-004 identity only",
}

// TestOnlyTheBugDeviates runs the whole catalog against every buggy service
// and compares it with the correct one: a bug changes the code (or echoes a
// token) on exactly the calls listed for it, and nowhere else. Reasons are
// not compared: a different key store (kid-file-path) gives other reasons
// for refusals that are still refusals.
func TestOnlyTheBugDeviates(t *testing.T) {
	f := newFixture(t)
	_, clean := startService(t, "", f)
	probes := catalog(t, f)
	correct := make(map[string]outcome, len(probes))
	for _, p := range probes {
		correct[p.name] = p.run(t, clean)
	}
	deviations := maps.Clone(deviations)
	for _, p := range probes {
		if correct[p.name].code != codes.OK && !slices.Contains(nothingToQuote, p.name) {
			deviations[TokenEcho] = append(deviations[TokenEcho], p.name)
		}
	}
	require.Len(t, deviations, len(Bugs()), "every bug has its list")

	for _, bug := range Bugs() {
		t.Run(bug, func(t *testing.T) {
			_, tg := startService(t, bug, f)
			var got []string
			for _, p := range probes {
				out, want := p.run(t, tg), correct[p.name]
				assert.Equal(t, out.code == codes.OK, out.ran, "%s: the handler runs only for allowed calls", p.name)
				if out.code != want.code || out.echoed != want.echoed {
					got = append(got, p.name)
				}
			}
			assert.Equal(t, deviations[bug], got)
		})
	}
}
