package interceptor

import (
	"context"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// single authorizes a call under the single-token profile: the grant in the
// identity header is verified first as a credential (any failure means the
// caller is unknown: UNAUTHENTICATED), then as a permission (expired,
// revoked, replayed or out of scope: PERMISSION_DENIED, as in two-token).
// Like authorize, it leaves a one-shot grant unused for the caller to use.
func (s *Server) single(ctx context.Context, req token.Request, need Requirement) (context.Context, *token.Grant, error) {
	raw, err := s.bearer(ctx)
	if err != nil {
		return nil, nil, err
	}
	if s.cfg.Grants == nil {
		return nil, nil, reason.New(reason.IdentityInvalid, "this service has no token verifier configured")
	}
	g, err := s.cfg.Grants.Parse(raw)
	if err != nil {
		return nil, nil, s.hint(asCredentialFault(err))
	}
	ctx = context.WithValue(ctx, identityKey, &token.Identity{
		Subject: g.Subject, Issuer: g.Issuer, IssuedAt: g.IssuedAt, ExpiresAt: g.ExpiresAt,
		KeyID: g.KeyID, Algorithm: g.Algorithm,
	})
	if need == Authenticated {
		return ctx, nil, nil
	}
	req.Subject = g.Subject
	if g, err = s.cfg.Grants.Check(raw, req); err != nil {
		return nil, nil, s.hint(asCredentialFault(err))
	}
	return context.WithValue(ctx, grantKey, g), g, nil
}

// permissionFaults are the grant reasons that stay PERMISSION_DENIED in the
// single-token profile: the token proves who the caller is, but its window,
// its revocation or its scope does not allow this call now.
var permissionFaults = map[reason.Reason]bool{
	reason.GrantExpired:        true,
	reason.GrantRevoked:        true,
	reason.GrantReplayed:       true,
	reason.GrantScopeMismatch:  true,
	reason.RevocationViewStale: true,
}

// asCredentialFault turns a grant failure that leaves the caller unknown
// into the identity reason of the same kind; the grant reason stays in the
// metadata under "token_reason" so a human still sees the precise check.
func asCredentialFault(err error) error {
	re, ok := err.(*reason.Error)
	if !ok || permissionFaults[re.Reason] || re.Code() != reason.GrantMissing.Code() {
		return err
	}
	to := reason.IdentityInvalid
	switch re.Reason {
	case reason.GrantMissing:
		to = reason.IdentityMissing
	case reason.GrantMalformed, reason.GrantTooLarge:
		to = reason.IdentityMalformed
	case reason.GrantNotYetValid:
		to = reason.IdentityExpired
	}
	out := reason.New(to, re.Message)
	for k, v := range re.Metadata {
		out.Set(k, v)
	}
	return out.Set("token_reason", string(re.Reason))
}
