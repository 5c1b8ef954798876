package brokerclient

import (
	"time"

	"github.com/jonboulle/clockwork"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// DefaultRenewBefore is how long before expiry a cached grant is renewed when Options.RenewBefore is zero.
const DefaultRenewBefore = 30 * time.Second

// Options configures a GrantSource.
type Options struct {
	// Service is the protected service's name, the grant's audience (e.g. "demo.v1.Vault").
	Service string
	// ScopeFor maps a full method name to the scope requested for it; nil requests exactly that method, any resource.
	ScopeFor func(method string) *jitv1.Scope
	// Justification is sent with every request, for reviewers and the audit log.
	Justification string
	// Duration is the grant duration asked for; zero asks for the policy's maximum.
	Duration time.Duration
	// OneShot asks for grants valid for a single call; they are never cached or shared.
	OneShot bool
	// RenewBefore renews a cached grant this long before it expires; zero means 30 s.
	RenewBefore time.Duration
	// Retry is the backoff used while the broker is unreachable.
	Retry Retry
	// Clock decides when cached grants are due for renewal; nil means the real clock.
	Clock clockwork.Clock
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.RenewBefore <= 0 {
		o.RenewBefore = DefaultRenewBefore
	}
	if o.ScopeFor == nil {
		service := o.Service
		o.ScopeFor = func(method string) *jitv1.Scope {
			return &jitv1.Scope{Service: service, Methods: []string{method}}
		}
	}
	return o
}
