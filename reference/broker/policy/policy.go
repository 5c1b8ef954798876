// Package policy decides, for an access request, which rule applies: who may
// approve it, how many approvals it needs, how long the grant and the pending
// request may last, and whether it is approved automatically.
package policy

import "time"

// Rule is one policy entry, matched against a requested scope.
type Rule struct {
	// Name identifies the rule in audit records and denials.
	Name string `yaml:"name"`
	// Match selects the scopes the rule covers.
	Match Match `yaml:"match"`
	// Approvers are the groups whose members may approve.
	Approvers []string `yaml:"approvers"`
	// Approvals is how many distinct approvers are needed (N of M); at least 1.
	Approvals int `yaml:"approvals"`
	// MaxDuration caps the grant's lifetime.
	MaxDuration time.Duration `yaml:"max_duration"`
	// PendingTimeout is how long a request may wait for reviews before it expires.
	PendingTimeout time.Duration `yaml:"pending_timeout"`
	// AutoApprove lists cases approved without review.
	AutoApprove []AutoApprove `yaml:"auto_approve"`
}

// Match selects scopes: service exactly, every requested method within
// Methods, the requested resource within Resource (a trailing * matches a
// prefix; empty matches any).
type Match struct {
	Service  string   `yaml:"service"`
	Methods  []string `yaml:"methods"`
	Resource string   `yaml:"resource"`
}

// AutoApprove approves a request at once when the requester is in one of
// Groups and every requested method is within Methods; After delays the
// approval (a demo knob: "--auto-approve 50ms").
type AutoApprove struct {
	Groups  []string      `yaml:"groups"`
	Methods []string      `yaml:"methods"`
	After   time.Duration `yaml:"after"`
}

// Policy is the ordered rule list; the first rule that matches applies, and a
// request no rule matches is refused.
type Policy struct {
	Rules []Rule `yaml:"rules"`
}
