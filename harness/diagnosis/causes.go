package diagnosis

// Causes a Diagnosis names: stable ids, matched on by reports and scenarios.
const (
	// CauseApprovalDenied: the reviewer or broker denied the access request.
	CauseApprovalDenied = "approval-denied"
	// CauseApprovalSlower: approval took longer than the call's deadline allowed.
	CauseApprovalSlower = "approval-slower-than-deadline"
	// CauseBrokerUnavailable: the broker could not be reached while the grant was obtained.
	CauseBrokerUnavailable = "broker-unavailable"
	// CauseProxyAbort: a fault proxy ended the call with a status before the service saw it.
	CauseProxyAbort = "proxy-abort"
	// CauseRetriesShareDeadline: retries ran under the first attempt's deadline.
	CauseRetriesShareDeadline = "retries-share-deadline"
	// CauseNetworkFault: a network fault delayed or cut the call.
	CauseNetworkFault = "network-fault"
	// CauseKeySourceUnavailable: the service could not get the keys to verify tokens with.
	CauseKeySourceUnavailable = "key-source-unavailable"
	// CauseDeadlineTooShort: the service needs longer than the call's deadline.
	CauseDeadlineTooShort = "deadline-too-short"
	// CauseServiceUnreachable: the service could not be reached, and no fault explains it.
	CauseServiceUnreachable = "service-unreachable"
	// CauseCredentialsMissing: a credential was not attached, or not where the service reads it.
	CauseCredentialsMissing = "credentials-missing"
	// CauseMalformedToken: a token is not a well-formed JWS the service can read.
	CauseMalformedToken = "malformed-token"
	// CauseAlgNone: a token is unsigned (alg "none").
	CauseAlgNone = "alg-none"
	// CauseKeyConfusion: an HMAC token is set against the issuer's asymmetric key.
	CauseKeyConfusion = "key-confusion"
	// CauseAlgorithmNotAccepted: a token's alg is not one the service pins.
	CauseAlgorithmNotAccepted = "algorithm-not-accepted"
	// CauseSignatureInvalid: a token's signature does not verify with the key the service uses.
	CauseSignatureInvalid = "signature-invalid"
	// CauseUnknownKey: a token's kid names no key the service has.
	CauseUnknownKey = "unknown-key"
	// CauseWrongIssuer: a token's iss is not the issuer the service trusts.
	CauseWrongIssuer = "wrong-issuer"
	// CauseWrongAudience: a token's aud does not name the service.
	CauseWrongAudience = "wrong-audience"
	// CauseTokenExpired: a token's exp had passed, leeway included, by the service's clock.
	CauseTokenExpired = "token-expired"
	// CauseTokenNotYetValid: a token's nbf or iat was still ahead, leeway included, by the service's clock.
	CauseTokenNotYetValid = "token-not-yet-valid"
	// CauseLifetimeTooLong: a grant lives longer (exp − iat) than the service accepts.
	CauseLifetimeTooLong = "lifetime-too-long"
	// CauseClaimMissing: a token lacks a claim the service requires.
	CauseClaimMissing = "claim-missing"
	// CauseSubjectMismatch: the grant was issued to another subject than the identity names.
	CauseSubjectMismatch = "subject-mismatch"
	// CauseWrongType: a token is not the kind the service expects in its header: another typ, or the other credential.
	CauseWrongType = "wrong-type"
	// CauseGrantRevoked: the grant was revoked.
	CauseGrantRevoked = "grant-revoked"
	// CauseGrantReplayed: a one-shot grant was used again.
	CauseGrantReplayed = "grant-replayed"
	// CauseScopeMismatch: the service reports the call is outside the grant's scope.
	CauseScopeMismatch = "scope-mismatch"
	// CauseClockSkew: a clock-skew fault made a clock read valid tokens outside their window.
	CauseClockSkew = "clock-skew"
	// CauseTokenMutated: a token-mutation fault forged a credential the service refused.
	CauseTokenMutated = "token-mutated"
	// CauseServiceReason: the service gave a reference reason that names its cause.
	CauseServiceReason = "service-reason"
	// CauseUnknown: the cause cannot be told; the summary says what was checked and found fine.
	CauseUnknown = "unknown"
)

// Causes lists every cause a rule can name, in precedence order, then CauseUnknown.
func Causes() []string {
	out := make([]string, 0, len(rules)+1)
	for _, r := range rules {
		out = append(out, r.cause)
	}
	return append(out, CauseUnknown)
}
