package conformance

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
)

// The rules every case is held to, by name; a failed case names the first it broke.
const (
	// RuleSetup: the case could not be staged (a valid call was refused, the broker did not approve).
	RuleSetup = reports.ConformanceRuleSetup
	// RuleNeverOK: a negative case never returns OK.
	RuleNeverOK = "never-ok"
	// RuleHandlerNotRun: the protected handler never runs for a credential fault (needs Config.HandlerCalls).
	RuleHandlerNotRun = "handler-not-run"
	// RuleNoUnknownOrInternal: a credential fault never answers UNKNOWN or INTERNAL.
	RuleNoUnknownOrInternal = "no-unknown-or-internal"
	// RulePDAfterIdentity: PERMISSION_DENIED only once the caller's identity was verified.
	RulePDAfterIdentity = "pd-after-identity"
	// RuleNoTokenEcho: no part of a token sent shows in the status message, its details, or header or trailer metadata.
	RuleNoTokenEcho = "no-token-echo"
	// RuleBoundedTime: every call ends within its bound (1 s for FMT-003's 64 KiB token).
	RuleBoundedTime = "bounded-time"
	// RuleNoOutboundFetch: no jku, x5u or jwk header makes the target fetch anything.
	RuleNoOutboundFetch = "no-outbound-fetch"
	// RuleExpectedCode: the code is the catalog's for the profile, or one of its "also" codes.
	RuleExpectedCode = "expected-code"
	// RuleKnownFailingPassed: a case on the known-failing list passed; it must come off the list.
	RuleKnownFailingPassed = "known-failing-passed"
)

// Rules lists the rules in the order they are checked.
func Rules() []string {
	out := make([]string, len(ruleDocs))
	for i, r := range ruleDocs {
		out[i] = r.Name
	}
	return out
}

// RuleInfo is a rule and what it checks, in a sentence.
type RuleInfo struct {
	// Name is the rule's name in results ("never-ok").
	Name string
	// Checks says what it checks.
	Checks string
}

// RuleDocs lists the rules with what each checks, in the order they are checked.
func RuleDocs() []RuleInfo { return slices.Clone(ruleDocs) }

var ruleDocs = []RuleInfo{
	{RuleSetup, "the case could be staged (a broker approved, a hook revoked, a first one-shot use passed); when not, the case is an error of the setup (exit 2), never a failure of the target"},
	{RuleNeverOK, "a negative case never returns OK"},
	{RuleHandlerNotRun, "the protected handler never ran for a credential fault (needs Config.HandlerCalls, Go API; otherwise the result notes it was not observable)"},
	{RuleNoUnknownOrInternal, "a credential fault never answers UNKNOWN or INTERNAL"},
	{RulePDAfterIdentity, "PERMISSION_DENIED only once the identity was verified: never for an ID case, nor (single-token) for a token that cannot even be verified (FMT, SIG, ALG, KEY)"},
	{RuleNoTokenEcho, "no token, nor its payload or signature segment, shows in the status message, its details, or header or trailer metadata"},
	{RuleBoundedTime, "every call ends within 5 s, FMT-003's 64 KiB token within 1 s"},
	{RuleNoOutboundFetch, "jku and x5u point at a listener the suite serves on loopback; any connection to it fails the case"},
	{RuleExpectedCode, "the code is the catalog's for the profile, or one of its \"also\" codes"},
	{RuleKnownFailingPassed, "a case on the known-failing list passed: take it off the list"},
}

// variant is one spelling of a case and what the target answered to it.
type variant struct {
	name string
	// skip says why the variant did not run; setup why it could not be staged.
	skip, setup string
	answer
	// sent are the tokens the call carried, for the echo rule and redaction.
	sent []string
	// bound is the latency the call must stay under.
	bound time.Duration
	// handlerRuns is how often the handler ran during the call; -1 when not observable.
	handlerRuns int64
	// fetches is how many requests the trap URL saw during the call.
	fetches int64
	// note adds what the case measured ("refused 40ms after the revocation").
	note string

	// broken are the rules the variant broke, with a sentence on each.
	broken []brokenRule
}

// brokenRule is a rule a variant broke and what happened.
type brokenRule struct {
	rule, why string
}

// judge checks v against every rule that applies to c under profile p. An
// advisory case's acceptance is a note unless strict says the target promised better.
func judge(c *Case, p Profile, v *variant, strict bool) {
	defer func() {
		if c.Advisory && !strict && v.code == codes.OK && onlyAcceptance(v.broken) {
			v.broken = nil
			v.note = "advisory: accepted (" + c.Fault + "); declare strict_signatures to make this a failure"
		}
	}()
	if v.skip != "" {
		return
	}
	if v.setup != "" {
		v.broken = append(v.broken, brokenRule{RuleSetup, v.setup})
		return
	}
	code := reason.CodeName(v.code)
	add := func(rule, format string, args ...any) {
		v.broken = append(v.broken, brokenRule{rule, fmt.Sprintf(format, args...)})
	}
	negative := c.Negative(p)
	if negative && v.code == codes.OK {
		add(RuleNeverOK, "the call was accepted: %s", c.Fault)
	}
	if c.kind.credentialFault() && v.handlerRuns > 0 {
		add(RuleHandlerNotRun, "the protected handler ran %d time(s) for a refused credential", v.handlerRuns)
	}
	if c.kind.credentialFault() && (v.code == codes.Unknown || v.code == codes.Internal) {
		add(RuleNoUnknownOrInternal, "a credential fault answered %s: the caller cannot tell what to fix", code)
	}
	if v.code == codes.PermissionDenied && pdBeforeIdentity(c.kind, p) {
		add(RulePDAfterIdentity, "PERMISSION_DENIED for a caller whose identity was never verified: UNAUTHENTICATED is right")
	}
	if echoed(v.texts, v.sent) {
		add(RuleNoTokenEcho, "the answer quotes the token sent")
	}
	if v.latency > v.bound {
		add(RuleBoundedTime, "took %s, more than the %s allowed", v.latency.Round(time.Millisecond), v.bound)
	}
	if v.fetches > 0 {
		add(RuleNoOutboundFetch, "the target connected to the URL a token header named (%d connection(s))", v.fetches)
	}
	if !c.Allowed(p, v.code) {
		add(RuleExpectedCode, "want %s, got %s", wantWords(c, p), code)
	}
}

// onlyAcceptance reports whether the rules broken are only those an accepted call breaks.
func onlyAcceptance(broken []brokenRule) bool {
	for _, b := range broken {
		if b.rule != RuleNeverOK && b.rule != RuleExpectedCode && b.rule != RuleHandlerNotRun {
			return false
		}
	}
	return len(broken) > 0
}

// pdBeforeIdentity reports whether a PERMISSION_DENIED to a case of kind k
// under p means the target refused permission to a caller it never identified.
func pdBeforeIdentity(k kind, p Profile) bool {
	if p == TwoToken {
		return k == identityFault
	}
	return k == identityFault || k == unverifiable
}

// wantWords is the expected code and the codes allowed instead, in words.
func wantWords(c *Case, p Profile) string {
	s := reason.CodeName(c.Want(p).Code)
	for _, a := range c.Also {
		s += " or " + reason.CodeName(a)
	}
	return s
}

// passed reports whether v ran and broke no rule.
func (v *variant) passed() bool { return v.skip == "" && len(v.broken) == 0 }

// rules names the rules v broke.
func (v *variant) rules() []string {
	out := make([]string, 0, len(v.broken))
	for _, b := range v.broken {
		if !slices.Contains(out, b.rule) {
			out = append(out, b.rule)
		}
	}
	return out
}
