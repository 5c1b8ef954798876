package harness

import (
	"slices"
	"time"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/scenarios"
)

// Approval modes of scenario.Broker.Approval.
const (
	// ApprovalAuto approves every request after Broker.AutoApprove, by policy.
	ApprovalAuto = "auto"
	// ApprovalReviewer leaves requests to a scripted reviewer (an approver fault).
	ApprovalReviewer = "reviewer"
)

// Grant sources of scenario.Client.Grants.
const (
	// GrantsBroker requests access from the broker and waits for approval.
	GrantsBroker = "broker"
	// GrantsMinted signs grants locally with the development broker's keys, skipping approval.
	GrantsMinted = "minted"
	// GrantsNone sends no grant at all.
	GrantsNone = "none"
)

// Defaults of the scenario schema, applied to zero fields (the loader may
// have filled them already; applying them twice changes nothing).
const (
	DefaultLeeway        = token.DefaultLeeway
	DefaultAutoApprove   = time.Millisecond
	DefaultGrantTTL      = 5 * time.Minute
	DefaultDeadline      = 2 * time.Second
	DefaultSubject       = "alice"
	DefaultResource      = "secrets/db/password"
	DefaultGrantResource = "secrets/*"
	DefaultCalls         = 20
)

// withDefaults returns sc with every zero setting replaced by its default.
func withDefaults(sc scenarios.Scenario) scenarios.Scenario {
	set := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	setD := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setD(&sc.Service.Leeway, DefaultLeeway)
	if len(sc.Service.Algorithms) == 0 {
		sc.Service.Algorithms = token.DefaultAlgorithms()
	}
	sc.Service.Algorithms = slices.Clone(sc.Service.Algorithms)
	set(&sc.Service.RevocationMode, "strict")
	set(&sc.Broker.Approval, ApprovalAuto)
	setD(&sc.Broker.AutoApprove, DefaultAutoApprove)
	set(&sc.Broker.Algorithm, token.EdDSA)
	setD(&sc.Broker.GrantTTL, DefaultGrantTTL)
	set(&sc.Client.Subject, DefaultSubject)
	set(&sc.Client.Method, demov1.Vault_Read_FullMethodName)
	set(&sc.Client.Resource, DefaultResource)
	setD(&sc.Client.Deadline, DefaultDeadline)
	set(&sc.Client.Grants, GrantsBroker)
	if len(sc.Client.GrantScope) == 0 {
		sc.Client.GrantScope = []string{sc.Client.Method}
	}
	sc.Client.GrantScope = slices.Clone(sc.Client.GrantScope)
	set(&sc.Client.GrantResource, DefaultGrantResource)
	if sc.Load.Calls <= 0 && sc.Load.Duration <= 0 && len(sc.Measure) == 0 {
		sc.Load.Calls = DefaultCalls
	}
	if sc.Load.Concurrency <= 0 && sc.Load.Rate == "" {
		sc.Load.Concurrency = 1
	}
	return sc
}

// brokerKeys is the development broker's key set signing with alg.
func brokerKeys(alg string) (*token.KeySet, error) {
	keys := token.DevKeySet(token.DevGrantIssuer)
	kid := token.DevKeyID(token.DevGrantIssuer, alg)
	if _, err := keys.Lookup(kid, time.Now()); err != nil {
		// RS256 has no derivable development key: a fresh one signs, and
		// the service fetches it from the broker like any other.
		k, err := token.GenerateKey(alg, kid)
		if err != nil {
			return nil, err
		}
		keys.Add(k)
	}
	return keys, keys.Use(kid)
}

// wrongGrantKeys are the public keys of another development broker: a
// verifier given a key file from another environment, which knows none of
// the kids the real broker signs with.
func wrongGrantKeys() *token.KeySet {
	return token.DevKeySet("jitbench-other-broker").Public()
}
