package buggy

import "errors"

// Bug names, stable: conformance tests and known-failing lists refer to them.
const (
	// AlgNone accepts grants and identities signed with alg "none" (lower case, as golang-jwt spells it).
	AlgNone = "alg-none"
	// HS256PublicKey lets an HS256 token name an asymmetric key and verifies it with that public key's bytes (raw or PEM) as the secret.
	HS256PublicKey = "hs256-public-key"
	// NoExpCheck never looks at exp: expired tokens and tokens without exp pass.
	NoExpCheck = "no-exp-check"
	// HourLeeway tolerates an hour of clock skew instead of the configured leeway.
	HourLeeway = "hour-leeway"
	// UnknownOnParseError answers a malformed token with a plain Go error, which gRPC sends as UNKNOWN.
	UnknownOnParseError = "unknown-on-parse-error"
	// PDMissingIdentity answers a call without identity with PERMISSION_DENIED instead of UNAUTHENTICATED.
	PDMissingIdentity = "pd-missing-identity"
	// NoStreamInterceptor installs the unary interceptor only, so the streaming List runs without any credential.
	NoStreamInterceptor = "no-stream-interceptor"
	// TokenEcho quotes the refused token in the denial message.
	TokenEcho = "token-echo"
	// KidFilePath reads the grant key from the file the kid header names under a key directory, so a kid of
	// ../../../../dev/null yields an empty HMAC key.
	KidFilePath = "kid-file-path"
	// NoAudCheck accepts tokens issued for any audience.
	NoAudCheck = "no-aud-check"
	// ScopeIgnored never checks the grant's methods or resource against the call.
	ScopeIgnored = "scope-ignored"
)

// ErrUnknownBug is returned by New for a name Bugs does not list.
var ErrUnknownBug = errors.New("unknown bug")

// Bugs lists the bug names, in a stable order.
func Bugs() []string {
	return []string{
		AlgNone, HS256PublicKey, NoExpCheck, HourLeeway, UnknownOnParseError, PDMissingIdentity,
		NoStreamInterceptor, TokenEcho, KidFilePath, NoAudCheck, ScopeIgnored,
	}
}
