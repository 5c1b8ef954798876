package conformance_test

import (
	"net"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/fakes/buggy"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/reports"
)

// serveOnLoopback serves srv on a free loopback port until the test ends.
func serveOnLoopback(t *testing.T, srv *grpc.Server, stop func()) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(stop)
	return lis.Addr().String()
}

// blackBox is the config of a target with no broker and no key source
// control, the development keys and a handler probe: a buggy service, or
// the reference served the same way for comparison.
func blackBox(addr string, handlerCalls func() int64) *conformance.Config {
	identity, grant := conformance.DevIssuers()
	return &conformance.Config{
		Address:      addr,
		Method:       conformance.Call{Method: "/demo.v1.Vault/Read", JSON: `{"path":"secrets/db/password"}`},
		Stream:       &conformance.Call{Method: "/demo.v1.Vault/List", JSON: `{"prefix":"secrets/"}`},
		Control:      &conformance.Call{Method: "/grpc.health.v1.Health/Check", JSON: `{}`},
		Identity:     identity,
		Grant:        grant,
		Audience:     token.DevAudience,
		Resource:     "secrets/*",
		OutOfScope:   &conformance.Call{Method: "/demo.v1.Vault/Read", JSON: `{"path":"public/motd"}`},
		OneShot:      true,
		HandlerCalls: handlerCalls,
		// What the buggy services share with the reference.
		MaxGrantLifetime: stack.DefaultMaxGrantLifetime,
		MaxTokenBytes:    token.DefaultMaxTokenBytes,
		KidRequired:      true,
		TypChecked:       true,
	}
}

// failures lists the ids of the cases that failed, and the rule each broke.
func failures(res *reports.ConformanceResult) map[string]string {
	out := map[string]string{}
	for _, c := range res.Cases {
		if c.Verdict == reports.CaseFail {
			out[c.ID] = c.Rule
		}
	}
	return out
}

// skippedWithoutBroker are the cases a target without a broker or key source control skips.
var skippedWithoutBroker = []string{"SCP-003", "DL-003", "KEY-004", "OUT-002", "OUT-003"}

// TestBuggyServicesAreCaught runs the suite against each deliberately buggy
// service of fakes/buggy: every run fails, with exactly the cases that name
// the bug, each with the rule it breaks (token-echo breaks the echo rule in
// every refusal that quotes a token, so only those named must be among its
// failures). The reference, served the same way, passes.
func TestBuggyServicesAreCaught(t *testing.T) {
	never, unknown, pd, echo := conformance.RuleNeverOK, conformance.RuleNoUnknownOrInternal, conformance.RulePDAfterIdentity, conformance.RuleNoTokenEcho
	catches := map[string]map[string]string{ // bug → case id → the rule it breaks
		buggy.AlgNone:             {"ALG-001": never},
		buggy.HS256PublicKey:      {"ALG-002": never},
		buggy.NoExpCheck:          {"ID-004": never, "CLM-001": never, "CLM-002": never, "SKW-002": never},
		buggy.HourLeeway:          {"ID-004": never, "CLM-001": never, "CLM-003": never, "SKW-002": never, "SKW-003": never},
		buggy.UnknownOnParseError: {"FMT-001": unknown, "FMT-002": unknown, "FMT-004": unknown, "FMT-006": unknown, "CLM-009": unknown},
		buggy.PDMissingIdentity:   {"ID-001": pd},
		buggy.NoStreamInterceptor: {"SCP-004": never},
		buggy.TokenEcho:           {"ID-004": echo, "FMT-001": echo, "SIG-002": echo, "ALG-001": echo, "CLM-001": echo, "SCP-001": echo},
		buggy.KidFilePath:         {"KEY-005": never},
		buggy.NoAudCheck:          {"CLM-006": never},
		buggy.ScopeIgnored:        {"SCP-001": never, "SCP-002": never, "SCP-005": never},
	}
	require.ElementsMatch(t, buggy.Bugs(), mapKeys(catches), "every bug has its row")

	for _, bug := range buggy.Bugs() {
		t.Run(bug, func(t *testing.T) {
			svc, err := buggy.New(bug, buggy.Config{})
			require.NoError(t, err)
			addr := serveOnLoopback(t, svc.Server, svc.Stop)
			res, err := conformance.RunSuite(t.Context(), blackBox(addr, svc.HandlerCalls), conformance.Options{})
			require.NoError(t, err)
			require.True(t, res.Failed(), "the suite must catch %s", bug)
			got := failures(res)
			if bug != buggy.TokenEcho {
				assert.Equal(t, catches[bug], got, "the cases %s fails, and the rule each breaks", bug)
				return
			}
			for id, rule := range catches[bug] {
				assert.Equal(t, rule, got[id], "%s must fail %s", bug, id)
			}
			for id, rule := range got {
				assert.Equal(t, echo, rule, "%s fails %s for the echo alone", bug, id)
			}
		})
	}

	t.Run("reference", func(t *testing.T) {
		svc, err := stack.New(stack.Config{})
		require.NoError(t, err)
		addr := serveOnLoopback(t, svc.Server, svc.Server.Stop)
		res, err := conformance.RunSuite(t.Context(), blackBox(addr, svc.Vault.TotalHandlerCalls), conformance.Options{})
		require.NoError(t, err)
		assert.Empty(t, failures(res))
		var skipped []string
		for _, c := range res.Cases {
			if c.Verdict == reports.CaseSkip {
				skipped = append(skipped, c.ID)
			}
		}
		slices.Sort(skipped)
		want := slices.Clone(skippedWithoutBroker)
		slices.Sort(want)
		assert.Equal(t, want, skipped)
	})
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
