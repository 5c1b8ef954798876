package conformance

import (
	"context"

	"google.golang.org/grpc/codes"
)

// Profile is the credential model a target follows.
type Profile string

// The profiles of CONFORMANCE.md.
const (
	// TwoToken: an identity token in the identity header and a JIT grant in the grant header (the reference's model).
	TwoToken Profile = "two-token"
	// SingleToken: one grant JWT in the identity header is both who the caller is and what it may do.
	SingleToken Profile = "single-token"
)

// Profiles lists the profiles, two-token first.
func Profiles() []Profile { return []Profile{TwoToken, SingleToken} }

// Want is what a case expects under one profile.
type Want struct {
	// Code is the status the target must answer.
	Code codes.Code
	// NotApplicable marks a case the profile does not have (CLM-007 in single-token): it is not run.
	NotApplicable bool
}

// Need is a capability a case needs beyond the target's port: the config
// declares it, or the case is skipped with the reason.
type Need string

// The needs of catalog cases (the catalog's "needs" column).
const (
	// NeedSizeLimit: the target's token size limit (max_token_bytes).
	NeedSizeLimit Need = "size limit"
	// NeedECDSA: the grant issuer has an ES256 key.
	NeedECDSA Need = "ECDSA"
	// NeedAsymmetric: the grant issuer has an asymmetric key (EdDSA, ES256, RS256).
	NeedAsymmetric Need = "asymmetric"
	// NeedKidRequired: the target refuses a kid it has no key for (kid_required).
	NeedKidRequired Need = "kid required"
	// NeedKeySource: the target's key source is under the suite's control (key_source, or Config.KeySource).
	NeedKeySource Need = "key source control"
	// NeedMaxLifetime: the target's maximum grant lifetime (max_grant_lifetime).
	NeedMaxLifetime Need = "max lifetime"
	// NeedOneShot: the target honours one-shot grants (one_shot).
	NeedOneShot Need = "one-shot"
	// NeedTypChecked: the target checks the typ header (typ_checked).
	NeedTypChecked Need = "typ checked"
	// NeedResource: the payload addresses a resource the target checks against the grant (resource).
	NeedResource Need = "resource scope"
	// NeedRevocation: a way to revoke a grant the target trusts (broker or revoke).
	NeedRevocation Need = "revocation"
	// NeedStream: a streaming protected method (stream).
	NeedStream Need = "stream method"
)

// Needs lists every need, in the order the docs give them, with the config key that declares it.
func Needs() []NeedInfo {
	return []NeedInfo{
		{NeedSizeLimit, "max_token_bytes"}, {NeedECDSA, "keys: an ES256 key of the grant issuer"},
		{NeedAsymmetric, "keys: an EdDSA, ES256 or RS256 key of the grant issuer"}, {NeedKidRequired, "kid_required"},
		{NeedKeySource, "key_source (Config.KeySource from Go)"}, {NeedMaxLifetime, "max_grant_lifetime"},
		{NeedOneShot, "one_shot"}, {NeedTypChecked, "typ_checked"}, {NeedResource, "resource"},
		{NeedRevocation, "broker or revoke"}, {NeedStream, "stream"},
	}
}

// NeedInfo is a need and how a config declares it.
type NeedInfo struct {
	// Need is the capability.
	Need Need
	// Declared says which config key (or key material) gives it.
	Declared string
}

// kind groups cases by what the rules check about them.
type kind int

const (
	// positive cases must pass: OK-001, SKW-001, OUT-003.
	positive kind = iota
	// identityFault cases break the identity credential (ID-*).
	identityFault
	// unverifiable cases break the token so it cannot even be verified (FMT, SIG, ALG, KEY).
	unverifiable
	// claimFault cases send a verifiable token whose claims or scope refuse the call (CLM, SCP, SKW-002/003).
	claimFault
	// clientSide cases exercise the calling side: deadlines, broker and network outages (DL-001/002, OUT-001/004).
	clientSide
	// keySourceFault cases take the target's key source away (DL-003, OUT-002).
	keySourceFault
)

// credentialFault reports whether the case is a fault in the credentials, which the handler must never see.
func (k kind) credentialFault() bool {
	return k == identityFault || k == unverifiable || k == claimFault
}

// Case is one row of the conformance catalog.
type Case struct {
	// ID is the published id, stable once published ("ALG-001").
	ID string
	// Fault says what the case does, as CONFORMANCE.md words it.
	Fault string
	// TwoToken and SingleToken are the expected answers under each profile.
	TwoToken, SingleToken Want
	// Also are codes a target may answer instead without failing.
	Also []codes.Code
	// Needs is what the case needs beyond the target's port; empty when nothing.
	Needs Need

	// Advisory marks a case whose refusal is recommended, not required:
	// a target that accepts it is reported, and fails only when it
	// declares the matching strictness (SIG-005: strict_signatures).
	Advisory bool

	kind kind
	run  func(r *runner, ctx context.Context, c *Case) []variant
}

// Want returns what c expects under profile p.
func (c *Case) Want(p Profile) Want {
	if p == SingleToken {
		return c.SingleToken
	}
	return c.TwoToken
}

// Allowed reports whether code is an acceptable answer to c under p.
func (c *Case) Allowed(p Profile, code codes.Code) bool {
	if c.Want(p).Code == code {
		return true
	}
	for _, a := range c.Also {
		if a == code {
			return true
		}
	}
	return false
}

// Negative reports whether c expects a refusal under p.
func (c *Case) Negative(p Profile) bool { return c.Want(p).Code != codes.OK }

// Catalog returns every case, in catalog order; the slice is a fresh copy.
func Catalog() []Case {
	out := make([]Case, len(catalog))
	copy(out, catalog)
	return out
}

// Lookup returns the case with id.
func Lookup(id string) (Case, bool) {
	for _, c := range catalog {
		if c.ID == id {
			return c, true
		}
	}
	return Case{}, false
}

// IDs returns every case id, in catalog order.
func IDs() []string {
	out := make([]string, len(catalog))
	for i, c := range catalog {
		out[i] = c.ID
	}
	return out
}

// Short names for the table below.
var (
	ok      = Want{Code: codes.OK}
	unauth  = Want{Code: codes.Unauthenticated}
	denied  = Want{Code: codes.PermissionDenied}
	late    = Want{Code: codes.DeadlineExceeded}
	down    = Want{Code: codes.Unavailable}
	missing = Want{NotApplicable: true}
)

// catalog is the conformance catalog (version 2) as code, row for row.
var catalog = []Case{
	{ID: "OK-001", Fault: "valid identity, approved grant in scope (the control)", TwoToken: ok, SingleToken: ok, kind: positive, run: (*runner).valid},

	{ID: "ID-001", Fault: "no identity credential", TwoToken: unauth, SingleToken: unauth, kind: identityFault, run: (*runner).noIdentity},
	{ID: "ID-002", Fault: "wrong scheme (Basic …, no Bearer)", TwoToken: unauth, SingleToken: unauth, kind: identityFault, run: (*runner).identityHeader},
	{ID: "ID-003", Fault: "two authorization values", TwoToken: unauth, SingleToken: unauth, kind: identityFault, run: (*runner).identityHeader},
	{ID: "ID-004", Fault: "identity token expired / badly signed", TwoToken: unauth, SingleToken: unauth, kind: identityFault, run: (*runner).badIdentity},

	{ID: "FMT-001", Fault: "not three segments", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "FMT-002", Fault: "bad base64url / non-JSON header or payload", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "FMT-003", Fault: "64 KiB of dots (CVE-2025-30204 class): bounded latency and a refusal", TwoToken: denied, SingleToken: unauth,
		Also: []codes.Code{codes.ResourceExhausted}, kind: unverifiable, run: (*runner).forged},
	{ID: "FMT-004", Fault: "claim of the wrong type (exp as a string)", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "FMT-005", Fault: "validly signed token over the declared size limit", TwoToken: denied, SingleToken: unauth,
		Also: []codes.Code{codes.ResourceExhausted}, Needs: NeedSizeLimit, kind: unverifiable, run: (*runner).forged},
	{ID: "FMT-006", Fault: "claim-name tricks: EXP/Sub/Scope beside or instead of the real claim; duplicate keys", TwoToken: denied, SingleToken: unauth,
		kind: unverifiable, run: (*runner).forged},

	{ID: "SIG-001", Fault: "signature stripped (h.p.)", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "SIG-002", Fault: "payload tampered, original signature kept", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "SIG-003", Fault: "signed by an unknown key of the target's algorithm", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "SIG-004", Fault: "ECDSA signature r=s=0 / wrong length", TwoToken: denied, SingleToken: unauth, Needs: NeedECDSA, kind: unverifiable, run: (*runner).forged},
	{ID: "SIG-005", Fault: "ECDSA (r, n−s) twin of a valid signature (advisory: fails only with strict_signatures)", TwoToken: denied, SingleToken: unauth,
		Needs: NeedECDSA, Advisory: true, kind: unverifiable, run: (*runner).forged},

	{ID: "ALG-001", Fault: "alg none / None / NONE / nOnE", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "ALG-002", Fault: "asymmetric → HS256 signed with the public key (PEM, DER, JWK forms)", TwoToken: denied, SingleToken: unauth,
		Needs: NeedAsymmetric, kind: unverifiable, run: (*runner).forged},
	{ID: "ALG-003", Fault: "valid signature with an algorithm the target did not pin", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},

	{ID: "KEY-001", Fault: "embedded self-signed jwk header (target's algorithm family)", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "KEY-002", Fault: "jku / x5u pointing at the suite's listener (no fetch may happen)", TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},
	{ID: "KEY-003", Fault: "kid unknown, signed by a trusted key", TwoToken: denied, SingleToken: unauth, Needs: NeedKidRequired, kind: unverifiable, run: (*runner).forged},
	{ID: "KEY-004", Fault: "kid of a retired key", TwoToken: denied, SingleToken: unauth, Needs: NeedKeySource, kind: unverifiable, run: (*runner).retiredKey},
	{ID: "KEY-005", Fault: "kid injection (path traversal to an empty file, SQL-ish) with HS256 keyed by the value that injection would load",
		TwoToken: denied, SingleToken: unauth, kind: unverifiable, run: (*runner).forged},

	{ID: "CLM-001", Fault: "exp past, beyond leeway", TwoToken: denied, SingleToken: denied,
		Also: []codes.Code{codes.Unauthenticated}, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-002", Fault: "exp missing", TwoToken: denied, SingleToken: unauth, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-003", Fault: "nbf / iat in the future beyond leeway", TwoToken: denied, SingleToken: unauth, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-004", Fault: "lifetime longer than the maximum grant duration", TwoToken: denied, SingleToken: unauth, Needs: NeedMaxLifetime, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-005", Fault: "wrong iss", TwoToken: denied, SingleToken: unauth, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-006", Fault: "aud of another service", TwoToken: denied, SingleToken: unauth, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-007", Fault: "grant sub differs from the identity", TwoToken: denied, SingleToken: missing, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-008", Fault: "jti replay of a one-shot grant", TwoToken: denied, SingleToken: denied, Needs: NeedOneShot, kind: claimFault, run: (*runner).replayed},
	{ID: "CLM-009", Fault: "absurd times: exp/nbf at 1e19, 1e308, negative", TwoToken: denied, SingleToken: unauth, kind: claimFault, run: (*runner).forged},
	{ID: "CLM-010", Fault: "typ of another token kind (identity sent as grant)", TwoToken: denied, SingleToken: unauth, Needs: NeedTypChecked, kind: claimFault, run: (*runner).forged},

	{ID: "SCP-001", Fault: "method outside the approved scope (template's scope, one method swapped)", TwoToken: denied, SingleToken: denied, kind: claimFault, run: (*runner).forged},
	{ID: "SCP-002", Fault: "resource outside the grant", TwoToken: denied, SingleToken: denied, Needs: NeedResource, kind: claimFault, run: (*runner).outOfScopeResource},
	{ID: "SCP-003", Fault: "grant revoked after issue (and still revoked after its exp + leeway)", TwoToken: denied, SingleToken: denied, Needs: NeedRevocation, kind: claimFault, run: (*runner).revoked},
	{ID: "SCP-004", Fault: "streaming method without a grant (interceptor missing on streams)", TwoToken: denied, SingleToken: unauth,
		Needs: NeedStream, kind: claimFault, run: (*runner).streamWithoutGrant},
	{ID: "SCP-005", Fault: "scope look-alikes: a permission that only contains, prefixes or extends the needed one", TwoToken: denied, SingleToken: denied,
		kind: claimFault, run: (*runner).forged},

	{ID: "SKW-001", Fault: "target clock ahead by leeway − 1 s", TwoToken: ok, SingleToken: ok, kind: positive, run: (*runner).forged},
	{ID: "SKW-002", Fault: "target clock ahead by leeway + 1 s", TwoToken: denied, SingleToken: denied,
		Also: []codes.Code{codes.Unauthenticated}, kind: claimFault, run: (*runner).forged},
	{ID: "SKW-003", Fault: "target clock behind: nbf = now + leeway + 1 s", TwoToken: denied, SingleToken: unauth, kind: claimFault, run: (*runner).forged},

	{ID: "DL-001", Fault: "client deadline 1 ms", TwoToken: late, SingleToken: late, kind: clientSide, run: (*runner).tinyDeadline},
	{ID: "DL-002", Fault: "approval slower than the client deadline", TwoToken: late, SingleToken: late, kind: clientSide, run: (*runner).slowApproval},
	{ID: "DL-003", Fault: "target's key lookup slower than the remaining deadline", TwoToken: late, SingleToken: late,
		Also: []codes.Code{codes.Unavailable}, Needs: NeedKeySource, kind: keySourceFault, run: (*runner).slowKeySource},

	{ID: "OUT-001", Fault: "broker down when a grant is needed (client side)", TwoToken: down, SingleToken: down, kind: clientSide, run: (*runner).brokerDown},
	{ID: "OUT-002", Fault: "key source down, cold cache", TwoToken: down, SingleToken: down,
		Also: []codes.Code{codes.PermissionDenied, codes.Unauthenticated}, Needs: NeedKeySource, kind: keySourceFault, run: (*runner).keySourceDownCold},
	{ID: "OUT-003", Fault: "key source down, warm cache", TwoToken: ok, SingleToken: ok, Needs: NeedKeySource, kind: positive, run: (*runner).keySourceDownWarm},
	{ID: "OUT-004", Fault: "connection reset by the network", TwoToken: down, SingleToken: down, kind: clientSide, run: (*runner).connectionReset},
}
