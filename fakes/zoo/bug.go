package zoo

import (
	"fmt"
	"slices"
	"strings"
)

// Bug names the one defect of a buggy build; None is the correct build.
type Bug string

// The bugs. Each buggy build has exactly one; Bugs says which apply to a kind.
const (
	// None is the correct build.
	None Bug = ""
	// AlgNone accepts an unsigned token whose alg is some spelling of "none".
	AlgNone Bug = "alg-none"
	// NoSignatureCheck decodes the token without verifying its signature.
	NoSignatureCheck Bug = "no-signature-check"
	// HS256PublicKey verifies an HS256 token with the public key's bytes as the
	// HMAC secret (methods-list: the PEM file as read; oauth-scope and
	// scp-array: the DER SubjectPublicKeyInfo).
	HS256PublicKey Bug = "hs256-public-key"
	// AlgNotPinned accepts any algorithm of the key's family (RS384, PS256 with
	// the RSA key; HS384, HS512 with the secret).
	AlgNotPinned Bug = "alg-not-pinned"
	// PsychicSignature accepts the ECDSA signature r = s = 0 (CVE-2022-21449).
	PsychicSignature Bug = "psychic-signature"
	// NoExpCheck neither requires exp nor compares it with the clock.
	NoExpCheck Bug = "no-exp-check"
	// NoAudCheck accepts tokens issued for any audience.
	NoAudCheck Bug = "no-aud-check"
	// NoIssCheck accepts tokens from any issuer.
	NoIssCheck Bug = "no-iss-check"
	// HugeLeeway tolerates an hour of clock skew instead of the declared leeway.
	HugeLeeway Bug = "huge-leeway"
	// NoMaxLifetime accepts grants of any lifetime.
	NoMaxLifetime Bug = "no-max-lifetime"
	// NoSubjectBinding never compares the grant's sub with the identity's.
	NoSubjectBinding Bug = "no-subject-binding"
	// NoStreamInterceptor guards unary calls only: streams run without credentials.
	NoStreamInterceptor Bug = "no-stream-interceptor"
	// ScopeIgnored never compares the grant's permissions with the method called.
	ScopeIgnored Bug = "scope-ignored"
	// ScopeLookAlike matches permissions by substring or prefix, so a look-alike
	// passes (methods-list: a granted method that extends the called one;
	// oauth-scope and bearer-grant: a substring of the scope; scp-array: a
	// granted permission that prefixes the needed one).
	ScopeLookAlike Bug = "scope-look-alike"
	// ResourceIgnored never compares the request's resource with the grant's res.
	ResourceIgnored Bug = "resource-ignored"
	// OnceIgnored never registers one-shot grants, so they can be replayed.
	OnceIgnored Bug = "once-ignored"
	// TypIgnored accepts any typ header.
	TypIgnored Bug = "typ-ignored"
	// CaseInsensitiveClaims lets EXP, Sub, Scope... stand for the real claims
	// (a struct decoded with encoding/json, or a case-insensitive lookup).
	CaseInsensitiveClaims Bug = "case-insensitive-claims"
	// DuplicateKeys accepts duplicate JSON keys, the last one winning: a
	// duplicate whose first value is wrong and last is valid passes.
	DuplicateKeys Bug = "duplicate-keys"
	// TimeOverflow takes absurd times as they come: no range check, exp
	// compared as a float (1e19 never expires) and the lifetime computed in
	// int64 nanoseconds (it wraps), nbf through int64 (-1 is long past).
	TimeOverflow Bug = "time-overflow"
	// EmbeddedJWK verifies with the key the token's own jwk header carries.
	EmbeddedJWK Bug = "embedded-jwk"
	// JKUFetched fetches the key set the token's jku header points at and trusts it.
	JKUFetched Bug = "jku-fetched"
	// UnknownKidFallback tries every known key when the kid names none.
	UnknownKidFallback Bug = "unknown-kid-fallback"
	// KidPathTraversal reads the grant secret from the file the kid names under
	// the key directory, so ../../../../../../dev/null is an empty secret.
	KidPathTraversal Bug = "kid-path-traversal"
	// TokenEcho quotes the refused token in the error message.
	TokenEcho Bug = "token-echo"
	// PanicOnMalformed indexes the third segment before checking there is one;
	// the recovery interceptor turns the panic into UNKNOWN.
	PanicOnMalformed Bug = "panic-on-malformed"
	// NoSizeLimit reads tokens of any size.
	NoSizeLimit Bug = "no-size-limit"
	// IdentityPermissionDenied answers identity faults with PERMISSION_DENIED
	// instead of UNAUTHENTICATED.
	IdentityPermissionDenied Bug = "identity-permission-denied"
)

// commonBugs apply to every kind.
var commonBugs = []Bug{
	AlgNone, NoSignatureCheck, NoExpCheck, NoAudCheck, NoIssCheck, HugeLeeway, NoMaxLifetime,
	NoStreamInterceptor, ScopeIgnored, ScopeLookAlike, CaseInsensitiveClaims, DuplicateKeys,
	TimeOverflow, EmbeddedJWK, TokenEcho, PanicOnMalformed, NoSizeLimit,
}

// kindBugs apply to one kind besides the common ones.
var kindBugs = map[Kind][]Bug{
	MethodsList: {HS256PublicKey, JKUFetched, NoSubjectBinding, IdentityPermissionDenied, PsychicSignature},
	OAuthScope:  {HS256PublicKey, JKUFetched, AlgNotPinned, UnknownKidFallback, TypIgnored},
	ScpArray:    {HS256PublicKey, JKUFetched, NoSubjectBinding, IdentityPermissionDenied, UnknownKidFallback, ResourceIgnored},
	BearerGrant: {AlgNotPinned, NoSubjectBinding, IdentityPermissionDenied, KidPathTraversal, OnceIgnored},
}

// Bugs lists the buggy builds of k, in a stable order (None excluded).
func Bugs(k Kind) []Bug {
	return append(slices.Clone(commonBugs), kindBugs[k]...)
}

// ParseBug returns the bug named s for kind k; "" and "none" are the correct build.
func ParseBug(k Kind, s string) (Bug, error) {
	if s == "" || s == "none" {
		return None, nil
	}
	bugs := Bugs(k)
	if b := Bug(s); slices.Contains(bugs, b) {
		return b, nil
	}
	names := make([]string, 0, len(bugs))
	for _, b := range bugs {
		names = append(names, string(b))
	}
	return None, fmt.Errorf("unknown bug %q for zoo kind %s (known: none, %s)", s, k, strings.Join(names, ", "))
}

// String returns the bug's name, "none" for the correct build.
func (b Bug) String() string {
	if b == None {
		return "none"
	}
	return string(b)
}
