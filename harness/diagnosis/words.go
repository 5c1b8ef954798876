package diagnosis

import (
	"regexp"
	"strings"

	"github.com/jitbench/jitbench/reference/reason"
)

// What the target said: a reason of the reference catalog names its cause
// outright; anything else (a foreign reason, the message) is read for words,
// in the order below, the first match naming the cause. The order puts the
// specific before the general: "missing claim exp" is about a claim, not
// about expiry nor a missing credential.

// reasonCauses maps the reference catalog's reasons to causes.
var reasonCauses = map[reason.Reason]string{
	reason.IdentityMissing:       CauseCredentialsMissing,
	reason.GrantMissing:          CauseCredentialsMissing,
	reason.IdentityMalformed:     CauseMalformedToken,
	reason.GrantMalformed:        CauseMalformedToken,
	reason.GrantTooLarge:         CauseMalformedToken,
	reason.GrantAlgMismatch:      CauseAlgorithmNotAccepted,
	reason.GrantBadSignature:     CauseSignatureInvalid,
	reason.GrantUnknownKey:       CauseUnknownKey,
	reason.GrantWrongType:        CauseWrongType,
	reason.GrantIssuerMismatch:   CauseWrongIssuer,
	reason.GrantAudienceMismatch: CauseWrongAudience,
	reason.GrantClaimMissing:     CauseClaimMissing,
	reason.GrantExpired:          CauseTokenExpired,
	reason.IdentityExpired:       CauseTokenExpired,
	reason.GrantNotYetValid:      CauseTokenNotYetValid,
	reason.GrantLifetimeExceeded: CauseLifetimeTooLong,
	reason.GrantSubjectMismatch:  CauseSubjectMismatch,
	reason.GrantScopeMismatch:    CauseScopeMismatch,
	reason.GrantRevoked:          CauseGrantRevoked,
	reason.GrantReplayed:         CauseGrantReplayed,
	reason.ApprovalPending:       CauseApprovalSlower,
	reason.ApprovalDenied:        CauseApprovalDenied,
	reason.SelfApproval:          CauseApprovalDenied,
	reason.NotApprover:           CauseApprovalDenied,
	reason.NoPolicy:              CauseApprovalDenied,
	// BrokerUnavailable is the broker while obtaining the grant, the key source at the service: see said.
	reason.BrokerUnavailable: CauseBrokerUnavailable,
}

// wordCauses are the words a message or foreign reason may use, in the order they are tried.
var wordCauses = []struct {
	words *regexp.Regexp
	cause string
}{
	{regexp.MustCompile(`revoked`), CauseGrantRevoked},
	{regexp.MustCompile(`replay|already (been )?used|one.?shot|reused`), CauseGrantReplayed},
	{regexp.MustCompile(`not (yet )?valid yet|not yet valid|\bnbf\b|not before|before (it is |its )?valid|issued in the future|in the future`), CauseTokenNotYetValid},
	{regexp.MustCompile(`lifetime|too long|max(imum)?[ _-]?(age|duration|ttl)`), CauseLifetimeTooLong},
	{regexp.MustCompile(`(missing|required|no) (\w+ )?claims?\b|\bclaims? (\w+ )?(is |are )?(missing|required|absent)`), CauseClaimMissing},
	{regexp.MustCompile(`expired|expir|\bexp\b`), CauseTokenExpired},
	{regexp.MustCompile(`\baud(ience)?s?\b`), CauseWrongAudience},
	{regexp.MustCompile(`\biss(uer)?s?\b`), CauseWrongIssuer},
	{regexp.MustCompile(`\btyp\b|token type`), CauseWrongType},
	{regexp.MustCompile(`\balg(orithm)?s?\b|signing method`), CauseAlgorithmNotAccepted},
	{regexp.MustCompile(`jwks|key set|(fetch|get|load)(ing)? (the )?(signing )?keys|keys? (source )?(unavailable|unreachable)`), CauseKeySourceUnavailable},
	{regexp.MustCompile(`signature|\bkid\b|\bkeys?\b`), CauseSignatureInvalid},
	{regexp.MustCompile(`\bsub(ject)?\b`), CauseSubjectMismatch},
	{regexp.MustCompile(`scope|not allowed|forbidden|not permitted|\broles?\b|\bscp\b|permissions? (for|to|on)\b|missing permissions?|insufficient`), CauseScopeMismatch},
	{regexp.MustCompile(`malformed|\bparse|decod|segments?\b|not a (valid )?jwt|invalid (token )?format|base64`), CauseMalformedToken},
	{regexp.MustCompile(`missing|no token|not provided|required|no credentials?|no authori[sz]ation|bearer`), CauseCredentialsMissing},
}

// heard is what the target said, read once.
type heard struct {
	// cause is the cause it names, "" none.
	cause string
	// byReason says a catalog reason named it (else words did).
	byReason bool
	// about is the role the reason concerns ("" when not told).
	about string
	// reason is the catalog reason, when the target sent one.
	reason reason.Reason
	// catalog says the reason is in the reference catalog.
	catalog bool
}

// listen reads the reason and message of a call.
func listen(c Call, phase string) heard {
	r := reason.Reason(c.Reason)
	if _, ok := reason.Lookup(r); ok {
		h := heard{reason: r, catalog: true, byReason: true, cause: reasonCauses[r]}
		if r == reason.BrokerUnavailable && phase != PhaseGrant {
			h.cause = CauseKeySourceUnavailable
		}
		switch {
		case r.IsIdentity() || r == reason.IdentityExpired:
			h.about = roleIdentity
		case strings.HasPrefix(string(r), "GRANT_"):
			h.about = roleGrant
		}
		return h
	}
	msg := c.Message
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	text := strings.ToLower(strings.ReplaceAll(cut(c.Reason, maxQuoted), "_", " ") + " " + msg)
	for _, w := range wordCauses {
		if w.words.MatchString(text) {
			return heard{cause: w.cause}
		}
	}
	return heard{}
}
