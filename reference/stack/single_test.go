package stack_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// TestSingleTokenProfile checks the single-token profile's split: a token
// that does not verify leaves the caller unknown (UNAUTHENTICATED, with the
// precise grant check kept as token_reason); a verified one outside its
// window, revoked or out of scope is PERMISSION_DENIED.
func TestSingleTokenProfile(t *testing.T) {
	e := newEnvWith(t, func(c *stack.Config) { c.SingleToken = true })
	valid := e.grant(t, token.GrantSpec{})
	revoked := e.grant(t, token.GrantSpec{})
	g, err := e.svc.Grants.Parse(revoked)
	require.NoError(t, err)
	e.revoked.Revoke(g.ID, g.ExpiresAt)
	expired := e.grant(t, token.GrantSpec{TTL: time.Minute})
	identity := e.identity(t, "alice")
	other := token.NewIssuer(token.DevGrantIssuer, token.DevKeySet("someone-else"), e.clock)
	forged, _, err := other.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Minute,
		Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}, Resource: "secrets/*"}})
	require.NoError(t, err)

	e.clock.Advance(2 * time.Minute) // expired is now beyond the leeway; valid has 3 minutes left
	tests := []struct {
		name        string
		c           call
		code        codes.Code
		reason      reason.Reason
		tokenReason reason.Reason
	}{
		{"the grant alone is enough", call{md: bearer(valid)}, codes.OK, "", ""},
		{"no token", call{}, codes.Unauthenticated, reason.IdentityMissing, ""},
		{"not a JWT", call{md: bearer("a.b")}, codes.Unauthenticated, reason.IdentityMalformed, reason.GrantMalformed},
		{"unknown signer", call{md: bearer(forged)}, codes.Unauthenticated, reason.IdentityInvalid, reason.GrantUnknownKey},
		{"an identity token is not a grant", call{md: bearer(identity)}, codes.Unauthenticated, reason.IdentityInvalid, reason.GrantWrongType},
		{"expired", call{md: bearer(expired)}, codes.PermissionDenied, reason.GrantExpired, ""},
		{"revoked", call{md: bearer(revoked)}, codes.PermissionDenied, reason.GrantRevoked, ""},
		{"method out of scope", call{method: "write", md: bearer(valid)}, codes.PermissionDenied, reason.GrantScopeMismatch, ""},
		{"resource out of scope", call{path: "payroll/q3", md: bearer(valid)}, codes.PermissionDenied, reason.GrantScopeMismatch, ""},
		{"stream without a token", call{method: "list", path: "secrets/"}, codes.Unauthenticated, reason.IdentityMissing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.svc.Vault.TotalHandlerCalls()
			err := e.do(t, tt.c)
			assert.Equal(t, tt.code, status.Code(err), "%v", err)
			if tt.code == codes.OK {
				return
			}
			d := reason.FromError(err)
			assert.Equal(t, tt.reason, d.Reason)
			assert.Equal(t, string(tt.tokenReason), d.Metadata["token_reason"])
			assert.Equal(t, before, e.svc.Vault.TotalHandlerCalls(), "the handler must not run")
		})
	}
}
