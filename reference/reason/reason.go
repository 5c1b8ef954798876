// Package reason is the catalog of machine-readable causes the reference JIT
// system attaches to every denial, and their mapping to gRPC status codes.
//
// A reason is stable: clients, scenarios and conformance checks match on it,
// so a published value never changes meaning.
package reason

import (
	"strings"
	"unicode"

	"google.golang.org/grpc/codes"
)

// Domain is the google.rpc.ErrorInfo domain of every reason in this catalog.
const Domain = "jit.jitbench.dev"

// Reason is one stable cause of a denial, written in SCREAMING_SNAKE_CASE.
type Reason string

// Identity reasons: the caller is unknown, so the call gets UNAUTHENTICATED.
const (
	// IdentityMissing means no identity credential was presented.
	IdentityMissing Reason = "IDENTITY_MISSING"
	// IdentityMalformed means the credential is present but unusable: wrong scheme, several values, not a JWT.
	IdentityMalformed Reason = "IDENTITY_MALFORMED"
	// IdentityInvalid means the identity token failed signature, algorithm, key, issuer or audience checks.
	IdentityInvalid Reason = "IDENTITY_INVALID"
	// IdentityExpired means the identity token is outside its validity window.
	IdentityExpired Reason = "IDENTITY_EXPIRED"
)

// Grant reasons: the caller is known but not permitted now, so the call gets PERMISSION_DENIED.
const (
	// GrantMissing means a protected method was called without a JIT grant.
	GrantMissing Reason = "GRANT_MISSING"
	// GrantMalformed means the grant is not a well-formed JWT or a claim has the wrong type.
	GrantMalformed Reason = "GRANT_MALFORMED"
	// GrantTooLarge means the grant exceeds the verifier's size limit and was not parsed.
	GrantTooLarge Reason = "GRANT_TOO_LARGE"
	// GrantAlgMismatch means the grant's algorithm is not one the verifier pins, or not its key's algorithm.
	GrantAlgMismatch Reason = "GRANT_ALG_MISMATCH"
	// GrantBadSignature means the signature does not verify with the key named by kid.
	GrantBadSignature Reason = "GRANT_BAD_SIGNATURE"
	// GrantUnknownKey means the grant's kid names no key the verifier trusts, or a retired one.
	GrantUnknownKey Reason = "GRANT_UNKNOWN_KEY"
	// GrantWrongType means the token's typ header is not a JIT grant's (an identity token sent as a grant, say).
	GrantWrongType Reason = "GRANT_WRONG_TYPE"
	// GrantIssuerMismatch means the grant was issued by a broker this service does not trust.
	GrantIssuerMismatch Reason = "GRANT_ISSUER_MISMATCH"
	// GrantAudienceMismatch means the grant was issued for another service.
	GrantAudienceMismatch Reason = "GRANT_AUDIENCE_MISMATCH"
	// GrantClaimMissing means a required claim (exp, iat, jti, sub, scope) is absent.
	GrantClaimMissing Reason = "GRANT_CLAIM_MISSING"
	// GrantExpired means the grant's window ended (exp plus leeway is in the past).
	GrantExpired Reason = "GRANT_EXPIRED"
	// GrantNotYetValid means nbf or iat is in the future beyond the leeway, usually clock skew.
	GrantNotYetValid Reason = "GRANT_NOT_YET_VALID"
	// GrantLifetimeExceeded means exp minus iat is longer than the maximum grant duration.
	GrantLifetimeExceeded Reason = "GRANT_LIFETIME_EXCEEDED"
	// GrantSubjectMismatch means the grant was issued to someone other than the verified identity.
	GrantSubjectMismatch Reason = "GRANT_SUBJECT_MISMATCH"
	// GrantScopeMismatch means the method or resource called is outside the approved scope.
	GrantScopeMismatch Reason = "GRANT_SCOPE_MISMATCH"
	// GrantRevoked means the grant was revoked after it was issued.
	GrantRevoked Reason = "GRANT_REVOKED"
	// GrantReplayed means a one-shot grant's jti was already used.
	GrantReplayed Reason = "GRANT_REPLAYED"
	// RevocationViewStale means the verifier's revocation view is older than its bound and it fails closed.
	RevocationViewStale Reason = "REVOCATION_VIEW_STALE"
)

// Capacity reasons: the service has no room left to check the call safely, so it gets RESOURCE_EXHAUSTED.
const (
	// OneShotRegisterFull means the verifier holds as many unexpired one-shot grant ids as it can and fails closed.
	OneShotRegisterFull Reason = "ONE_SHOT_REGISTER_FULL"
)

// Approval reasons: produced on the client side while a grant is obtained.
const (
	// ApprovalPending means the approval did not arrive before the call's deadline.
	ApprovalPending Reason = "APPROVAL_PENDING"
	// ApprovalDenied means a reviewer or policy denied the access request.
	ApprovalDenied Reason = "APPROVAL_DENIED"
	// BrokerUnavailable means the broker (or key source) could not be reached.
	BrokerUnavailable Reason = "BROKER_UNAVAILABLE"
)

// Broker reasons: the broker refuses a request or a review.
const (
	// SelfApproval means a requester tried to review their own request.
	SelfApproval Reason = "SELF_APPROVAL"
	// NotApprover means the reviewer is in none of the approver groups of the matching policy.
	NotApprover Reason = "NOT_APPROVER"
	// NoPolicy means no policy rule covers the requested scope, so nobody could approve it.
	NoPolicy Reason = "NO_POLICY"
)

// Origin says which component produces a reason.
type Origin string

// Origins of reasons.
const (
	// OriginService reasons come from the protected service's interceptors.
	OriginService Origin = "service"
	// OriginClient reasons come from the client while it obtains a grant.
	OriginClient Origin = "client"
	// OriginBroker reasons come from the broker's own API.
	OriginBroker Origin = "broker"
)

// Info describes one reason for documentation and diagnosis.
type Info struct {
	Reason  Reason
	Code    codes.Code
	Meaning string
	// Fix says in plain words what usually resolves it.
	Fix string
	// Origin is the component that produces it.
	Origin Origin
}

var catalog = []Info{
	{IdentityMissing, codes.Unauthenticated, "no identity credential was presented",
		"attach the identity credential on every call (per-RPC credentials), including streaming calls", OriginService},
	{IdentityMalformed, codes.Unauthenticated, "the identity credential is present but unusable",
		"send exactly one \"authorization: Bearer <token>\" header with a compact JWT", OriginService},
	{IdentityInvalid, codes.Unauthenticated, "the identity token failed its signature, key, issuer or audience checks",
		"check that the service trusts the identity provider's issuer, audience, keys and algorithm", OriginService},
	{IdentityExpired, codes.Unauthenticated, "the identity token is outside its validity window",
		"refresh the identity token before it expires, and check the clocks of the identity provider and the service", OriginService},
	{GrantMissing, codes.PermissionDenied, "a protected method was called without a JIT grant",
		"request access from the broker and attach the grant (x-jit-grant) on every protected call, streams included", OriginService},
	{GrantMalformed, codes.PermissionDenied, "the grant is not a well-formed JWT",
		"send the grant exactly as the broker issued it: three base64url segments, numeric time claims", OriginService},
	{GrantTooLarge, codes.PermissionDenied, "the grant exceeds the verifier's size limit",
		"send the broker's grant unchanged; the verifier refuses oversized tokens before parsing them", OriginService},
	{GrantAlgMismatch, codes.PermissionDenied, "the grant's signing algorithm is not one the verifier accepts",
		"make the broker sign with an algorithm the service pins (or add it to the service's accepted list)", OriginService},
	{GrantBadSignature, codes.PermissionDenied, "the grant's signature does not verify",
		"make the service fetch the broker's current public keys; the token may have been altered", OriginService},
	{GrantUnknownKey, codes.PermissionDenied, "the grant names a signing key the verifier does not trust",
		"refresh the service's copy of the broker's keys, or keep retired keys until their grants expire", OriginService},
	{GrantWrongType, codes.PermissionDenied, "the token presented as a grant is not a JIT grant",
		"send the JIT grant in x-jit-grant and the identity token in authorization, not the other way round", OriginService},
	{GrantIssuerMismatch, codes.PermissionDenied, "the grant comes from an untrusted issuer",
		"point the service at the broker that issued the grant, or request the grant from the broker it trusts", OriginService},
	{GrantAudienceMismatch, codes.PermissionDenied, "the grant was issued for another service",
		"request the grant for this service (its audience), not another one", OriginService},
	{GrantClaimMissing, codes.PermissionDenied, "the grant lacks a required claim",
		"have the broker set exp, iat, sub, jti and scope on every grant", OriginService},
	{GrantExpired, codes.PermissionDenied, "the grant's window has ended",
		"request a new grant (or renew before expiry); if it was only just issued, compare the broker's and the service's clocks", OriginService},
	{GrantNotYetValid, codes.PermissionDenied, "the grant is not valid yet",
		"synchronise the broker's and the service's clocks (NTP), or raise the verifier's leeway to cover the skew", OriginService},
	{GrantLifetimeExceeded, codes.PermissionDenied, "the grant's lifetime exceeds the maximum grant duration",
		"request a shorter grant; the broker's policy and the service's maximum duration disagree", OriginService},
	{GrantSubjectMismatch, codes.PermissionDenied, "the grant belongs to another subject",
		"use the grant issued to the caller's own identity; grants are not transferable", OriginService},
	{GrantScopeMismatch, codes.PermissionDenied, "the call is outside the grant's scope",
		"request access for this method and resource; the approved scope does not cover the call", OriginService},
	{GrantRevoked, codes.PermissionDenied, "the grant was revoked",
		"request access again; a reviewer revoked this grant", OriginService},
	{GrantReplayed, codes.PermissionDenied, "a one-shot grant was used twice",
		"request a new one-shot grant for each call", OriginService},
	{RevocationViewStale, codes.PermissionDenied, "the verifier cannot tell whether the grant was revoked",
		"restore the service's connection to the broker's revocation stream (or use best_effort mode)", OriginService},
	{OneShotRegisterFull, codes.ResourceExhausted, "the verifier cannot record another one-shot grant until older ones expire",
		"retry once earlier one-shot grants have expired, use shorter one-shot grants, or raise the service's one-shot register size", OriginService},
	{ApprovalPending, codes.DeadlineExceeded, "approval did not arrive before the call's deadline",
		"give the call a deadline longer than the approval takes, or request access before calling", OriginClient},
	{ApprovalDenied, codes.PermissionDenied, "the access request was denied",
		"ask a reviewer why the request was denied, or request a narrower scope", OriginClient},
	{BrokerUnavailable, codes.Unavailable, "the broker could not be reached",
		"check that the broker is running and reachable from the client", OriginClient},
	{SelfApproval, codes.PermissionDenied, "a requester cannot approve their own request",
		"ask another member of the approver group to review the request", OriginBroker},
	{NotApprover, codes.PermissionDenied, "the reviewer is not in an approver group of the matching policy",
		"ask a member of the policy's approver groups, or fix the policy's approvers", OriginBroker},
	{NoPolicy, codes.PermissionDenied, "no policy rule covers the requested scope",
		"add a policy rule for this service, methods and resource, or request a scope a rule covers", OriginBroker},
}

var byReason = func() map[Reason]Info {
	m := make(map[Reason]Info, len(catalog))
	for _, i := range catalog {
		m[i.Reason] = i
	}
	return m
}()

// Catalog returns every reason with its code and meaning, in a stable order.
func Catalog() []Info {
	out := make([]Info, len(catalog))
	copy(out, catalog)
	return out
}

// Lookup returns the catalog entry of r, and false for a reason not in the catalog.
func Lookup(r Reason) (Info, bool) {
	i, ok := byReason[r]
	return i, ok
}

// Code is the gRPC status code a denial with this reason carries; Unknown for a reason outside the catalog.
func (r Reason) Code() codes.Code {
	if i, ok := byReason[r]; ok {
		return i.Code
	}
	return codes.Unknown
}

// IsIdentity reports whether r says the caller's identity could not be established.
func (r Reason) IsIdentity() bool { return r.Code() == codes.Unauthenticated }

// String returns the reason as written on the wire.
func (r Reason) String() string { return string(r) }

// CodeName spells a gRPC code as the gRPC spec and grpcurl do, e.g. "PERMISSION_DENIED".
func CodeName(c codes.Code) string {
	s := c.String()
	if c == codes.OK {
		return "OK"
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
