package scenarios

import (
	"slices"
	"time"
)

// Defaults of the fields a scenario leaves out (or sets to zero); the field
// comments in scenario.go say the same, for readers of the schema.
const (
	defaultTopology      = "inprocess"
	defaultLeeway        = 30 * time.Second
	defaultMaxLifetime   = time.Hour
	defaultRevocation    = "strict"
	defaultMaxStaleness  = 15 * time.Second
	defaultApproval      = "auto"
	defaultAutoApprove   = time.Millisecond
	defaultAlgorithm     = "EdDSA"
	defaultGrantTTL      = 5 * time.Minute
	defaultPolicyMethods = "/demo.v1.Vault/*"
	defaultSubject       = "alice"
	defaultMethod        = "/demo.v1.Vault/Read"
	defaultResource      = "secrets/db/password"
	defaultDeadline      = 2 * time.Second
	defaultGrants        = "broker"
	defaultGrantResource = "secrets/*"
	defaultCalls         = 20
	defaultConcurrency   = 1
)

// defaultAlgorithms is the service's pinned list when none is given: the
// asymmetric algorithms the reference broker signs with.
var defaultAlgorithms = []string{"EdDSA", "ES256"}

// applyDefaults fills what the file left out. It runs after validation, so
// a default never hides a mistake and is never itself checked.
func (s *Scenario) applyDefaults() {
	orString(&s.Topology, defaultTopology)

	orDuration(&s.Service.Leeway, defaultLeeway)
	if len(s.Service.Algorithms) == 0 {
		s.Service.Algorithms = slices.Clone(defaultAlgorithms)
	}
	orDuration(&s.Service.MaxGrantLifetime, defaultMaxLifetime)
	orString(&s.Service.RevocationMode, defaultRevocation)
	orDuration(&s.Service.MaxStaleness, defaultMaxStaleness)

	orString(&s.Broker.Approval, defaultApproval)
	orDuration(&s.Broker.AutoApprove, defaultAutoApprove)
	orString(&s.Broker.Algorithm, defaultAlgorithm)
	orDuration(&s.Broker.GrantTTL, defaultGrantTTL)
	if len(s.Broker.PolicyMethods) == 0 {
		s.Broker.PolicyMethods = []string{defaultPolicyMethods}
	}

	orString(&s.Client.Subject, defaultSubject)
	orString(&s.Client.Method, defaultMethod)
	orString(&s.Client.Resource, defaultResource)
	orDuration(&s.Client.Deadline, defaultDeadline)
	orString(&s.Client.Grants, defaultGrants)
	if len(s.Client.GrantScope) == 0 {
		s.Client.GrantScope = []string{s.Client.Method}
	}
	orString(&s.Client.GrantResource, defaultGrantResource)

	if s.Load.Calls == 0 && s.Load.Duration == 0 && len(s.Measure) == 0 {
		// A measurement scenario without a load makes no calls but its probes.
		s.Load.Calls = defaultCalls
	}
	if s.Load.Concurrency == 0 && s.Load.Rate == "" {
		s.Load.Concurrency = defaultConcurrency
	}
}

func orString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func orDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}
