package conformance

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
)

// When the control (OK-001) is refused, every other case would be refused
// for the same unrelated reason, so the run stops and says which part of
// the config most likely does not match the target: from the reason the
// target gave, the words of its message, or else its status code.

// configPart is a part of the config a refused control points at.
type configPart string

// The parts a diagnosis can name.
const (
	partHeader   configPart = "the credential headers (headers: name and scheme) or the profile"
	partAudience configPart = "the audience (audience)"
	partIssuer   configPart = "the issuer (keys.*.issuer)"
	partKey      configPart = "the key (keys.*: the file, its kid and alg) or the pinned algorithms (algorithms)"
	partTyp      configPart = "the JOSE header (tokens.*.typ and tokens.*.kid) or the profile (profile)"
	partLayout   configPart = "the claim layout (tokens.grant: preset, claims, method_form, permissions)"
	partTime     configPart = "the times (leeway, max_grant_lifetime) or the two machines' clocks"
	partSubject  configPart = "the subject (subject, ${sub} in the claim templates)"
	partMethod   configPart = "the method (method): the target does not serve it"
	partProfile  configPart = "the profile (profile) or the header schemes (headers.*.scheme)"
	partPayload  configPart = "the request (payload)"
	partIdentity configPart = "the identity credential (headers.identity, keys.identity, tokens.identity)"
	partGrant    configPart = "the grant (headers.grant, keys.grant, tokens.grant: its claim layout and method name form)"
	partToken    configPart = "the token's header, key, issuer or audience"
)

// reasonParts reads the reference's reasons, which many targets imitate.
var reasonParts = map[reason.Reason]configPart{
	reason.IdentityMissing: partHeader, reason.GrantMissing: partHeader,
	reason.IdentityMalformed: partProfile, reason.GrantMalformed: partProfile,
	reason.GrantAlgMismatch: partKey, reason.GrantBadSignature: partKey, reason.GrantUnknownKey: partKey,
	reason.GrantWrongType: partTyp, reason.GrantIssuerMismatch: partIssuer, reason.GrantAudienceMismatch: partAudience,
	reason.GrantClaimMissing: partLayout, reason.GrantScopeMismatch: partLayout, reason.GrantTooLarge: partLayout,
	reason.GrantExpired: partTime, reason.GrantNotYetValid: partTime, reason.GrantLifetimeExceeded: partTime,
	reason.IdentityExpired: partTime, reason.GrantSubjectMismatch: partSubject,
}

// wordParts read a message's words, in order: the first that matches names the part.
var wordParts = []struct {
	words *regexp.Regexp
	part  configPart
}{
	{regexp.MustCompile(`\baud(ience)?s?\b`), partAudience},
	{regexp.MustCompile(`\biss(uer)?s?\b`), partIssuer},
	{regexp.MustCompile(`\btyp\b|token type`), partTyp},
	{regexp.MustCompile(`signature|\bkid\b|\bkeys?\b|\balg(orithm)?s?\b|jwks`), partKey},
	{regexp.MustCompile(`\bsub(ject)?\b`), partSubject},
	{regexp.MustCompile(`expired|\bexp\b|\bnbf\b|not yet|\biat\b|lifetime|clock`), partTime},
	{regexp.MustCompile(`scope|permission|not allowed|forbidden|method|\broles?\b|\bscp\b`), partLayout},
	{regexp.MustCompile(`header|missing|no token|bearer|scheme|credential`), partHeader},
	{regexp.MustCompile(`malformed|parse|decod|json|segment`), partProfile},
}

// controlError is ErrControlFailed with the diagnosis of out, OK-001's
// outcome (wrapping ErrUnreachable when the target could not be called).
func (r *runner) controlError(out reports.ConformanceCase) error {
	if out.Rule == RuleSetup {
		return fmt.Errorf("%w: OK-001 could not be staged: %s", ErrControlFailed, strings.TrimPrefix(out.Detail, "setup failed: "))
	}
	var v *reports.ConformanceVariant
	for i := range out.Variants {
		if !out.Variants[i].Skipped {
			v = &out.Variants[i]
		}
	}
	if v == nil {
		return fmt.Errorf("%w: OK-001 did not run: %s", ErrControlFailed, out.Detail)
	}
	code := codeOf(v.Got)
	answer := v.Got
	if v.Reason != "" {
		answer += " " + v.Reason
	}
	if v.Message != "" {
		answer += fmt.Sprintf(" %q", v.Message)
	}
	if code == codes.Unavailable || code == codes.DeadlineExceeded {
		return fmt.Errorf("%w: %w: OK-001, a valid call, answered %s", ErrControlFailed, ErrUnreachable, answer)
	}
	part := r.diagnose(code, reason.Reason(v.Reason), v.Message)
	sent := r.controlGrant
	if r.cfg.Profile == TwoToken && (code == codes.Unauthenticated || part == partIdentity) {
		sent = r.controlIdentity
	}
	return fmt.Errorf("%w: OK-001, a valid call, answered %s: most likely %s does not match the target; the suite sent %s",
		ErrControlFailed, answer, part, describeToken(sent))
}

// diagnose names the part of the config a refusal most likely points at.
func (r *runner) diagnose(code codes.Code, why reason.Reason, message string) configPart {
	if p, ok := reasonParts[why]; ok {
		return p
	}
	msg := strings.ToLower(message)
	for _, w := range wordParts {
		if w.words.MatchString(msg) {
			return w.part
		}
	}
	switch {
	case code == codes.Unimplemented:
		return partMethod
	case code == codes.InvalidArgument:
		return partPayload
	case r.cfg.Profile == TwoToken && code == codes.Unauthenticated:
		return partIdentity
	case r.cfg.Profile == TwoToken:
		return partGrant
	case code == codes.Unauthenticated:
		return partToken
	}
	return partLayout
}

// codeOf reads a code name back.
func codeOf(name string) codes.Code {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if reason.CodeName(c) == name {
			return c
		}
	}
	return codes.Unknown
}

// describeToken shows a token the suite signed: its header and claims, without the signature.
func describeToken(tok string) string {
	segs := strings.Split(tok, ".")
	if len(segs) != 3 {
		return "no token"
	}
	var parts []string
	for i, name := range []string{"header", "claims"} {
		raw, err := base64.RawURLEncoding.DecodeString(segs[i])
		if err != nil {
			return "a token that does not decode"
		}
		parts = append(parts, name+" "+string(raw))
	}
	return strings.Join(parts, ", ")
}
