package diagnosis

// rule is one cause: how to find it in the evidence, and how to word it.
type rule struct {
	// cause is the id the diagnosis names.
	cause string
	// match says how strongly the evidence points at the cause, and at what.
	match func(f *facts) finding
	// say words the finding: the summary's body (after the target's answer) and the fix.
	say func(f *facts, h finding) (summary, fix string)
	// mention are the fault kinds the summary names when in force, besides the finding's own.
	mention []string
}

// tokenFaults are the faults that change what credentials are sent.
var tokenFaults = []string{kindTokenMutation, kindCredsMissing, kindNotPropagated}

// timeFaults are the faults that move a clock.
var timeFaults = []string{kindClockSkew, kindTokenMutation}

// rules is the table, in precedence order: the strongest finding wins and,
// among equally strong ones, the earlier row. Rows that need the call to have
// reached the service (token rows) find nothing for a call that failed while
// the grant was obtained, or at the transport (UNAVAILABLE, DEADLINE_EXCEEDED).
var rules = []rule{
	// While the grant was obtained. Retries that share the first attempt's
	// deadline come first: whatever used the deadline up (a slow approval,
	// a slow service), the retries could not have helped, and giving each
	// its own deadline is the fix to make first.
	{CauseApprovalDenied, matchApprovalDenied, sayApprovalDenied, []string{kindApproval}},
	{CauseRetriesShareDeadline, matchRetries, sayRetries, []string{kindRetry, kindShortDeadline, kindApproval}},
	{CauseApprovalSlower, matchApprovalSlower, sayApprovalSlower, []string{kindApproval, kindShortDeadline, kindBrokerDown, kindNetwork, kindNetworkLatency}},
	{CauseBrokerUnavailable, matchBrokerUnavailable, sayBrokerUnavailable, nil},
	// The transport and the time.
	{CauseProxyAbort, matchProxyAbort, sayProxyAbort, nil},
	{CauseNetworkFault, matchNetworkFault, sayNetworkFault, nil},
	{CauseKeySourceUnavailable, matchKeySource, sayKeySource, nil},
	{CauseDeadlineTooShort, matchDeadlineTooShort, sayDeadlineTooShort, []string{kindShortDeadline, kindNetwork, kindNetworkLatency}},
	{CauseServiceUnreachable, matchUnreachable, sayUnreachable, nil},
	// The credentials, in the order a verifier checks them.
	{CauseCredentialsMissing, matchMissing, sayMissing, tokenFaults},
	{CauseMalformedToken, matchMalformed, sayMalformed, tokenFaults},
	{CauseWrongType, matchWrongType, sayWrongType, tokenFaults},
	{CauseAlgNone, matchAlgNone, sayAlgNone, tokenFaults},
	{CauseKeyConfusion, matchKeyConfusion, sayKeyConfusion, tokenFaults},
	{CauseAlgorithmNotAccepted, matchAlgorithm, sayAlgorithm, append([]string{kindVerifierAlgs}, tokenFaults...)},
	{CauseSignatureInvalid, matchSignature, saySignature, append([]string{kindVerifierKey, kindKeyRotation}, tokenFaults...)},
	{CauseUnknownKey, matchUnknownKey, sayUnknownKey, append([]string{kindKeyRotation}, tokenFaults...)},
	{CauseWrongIssuer, matchIssuer, sayIssuer, tokenFaults},
	{CauseWrongAudience, matchAudience, sayAudience, tokenFaults},
	{CauseTokenExpired, matchExpired, sayExpired, timeFaults},
	{CauseTokenNotYetValid, matchNotYetValid, sayNotYetValid, timeFaults},
	{CauseLifetimeTooLong, matchLifetime, sayLifetime, tokenFaults},
	{CauseClaimMissing, matchClaimMissing, sayClaimMissing, tokenFaults},
	{CauseSubjectMismatch, matchSubject, saySubject, tokenFaults},
	// What the service alone can know, and the faults that act inside it.
	{CauseGrantRevoked, matchRevoked, sayRevoked, nil},
	{CauseGrantReplayed, matchReplayed, sayReplayed, []string{kindRetry}},
	{CauseScopeMismatch, matchScope, sayScope, tokenFaults},
	{CauseClockSkew, matchClockSkew, sayClockSkew, nil},
	{CauseTokenMutated, matchMutated, sayMutated, nil},
	{CauseServiceReason, matchServiceReason, sayServiceReason, nil},
}
