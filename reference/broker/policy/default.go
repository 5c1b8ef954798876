package policy

import "time"

// Default returns a new copy, which the caller may change, of the
// development policy `jitbench serve` starts with: any method of
// demo.v1.Vault on any resource, one approval from the security group,
// grants of at most an hour, requests pending at most 15 minutes, and no
// auto-approval (serve adds one for --auto-approve).
func Default() *Policy {
	return &Policy{Rules: []Rule{{
		Name: "default",
		Match: Match{
			Service: "demo.v1.Vault",
			Methods: []string{"/demo.v1.Vault/*"},
		},
		Approvers:      []string{"security"},
		Approvals:      DefaultApprovals,
		MaxDuration:    DefaultMaxDuration,
		PendingTimeout: DefaultPendingTimeout,
	}}}
}

// Defaults for the keys a rule may leave out.
const (
	// DefaultApprovals is a rule's approvals when the file does not say.
	DefaultApprovals = 1
	// DefaultMaxDuration is a rule's max_duration when the file does not say.
	DefaultMaxDuration = time.Hour
	// DefaultPendingTimeout is a rule's pending_timeout when the file does not say.
	DefaultPendingTimeout = 15 * time.Minute
)
