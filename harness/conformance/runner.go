package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/reports"
)

// Bounds of the suite's calls.
const (
	// DefaultCallTimeout is each call's deadline and the bound of the bounded-time rule.
	DefaultCallTimeout = 5 * time.Second
	// LargeTokenBound is how fast FMT-003's 64 KiB token must be refused: parsing it must not stall.
	LargeTokenBound = time.Second
)

// The ways a run ends without a verdict on every case. RunSuite returns
// them beside the result, which says what ran.
var (
	// ErrControlFailed: OK-001, the valid call every case changes one
	// thing of, was refused, so no other case could mean anything; the
	// error says what in the config most likely does not match the target.
	ErrControlFailed = errors.New("the control failed")
	// ErrNothingChecked: every case that expects a refusal was skipped, so the run proved nothing.
	ErrNothingChecked = errors.New("nothing was checked")
	// ErrSetup: a case could not be staged (the broker did not approve,
	// a hook failed): an error of the setup, not a verdict on the target.
	ErrSetup = errors.New("a case could not be staged")
)

// Options choose which cases run and how their outcome is read.
type Options struct {
	// Run and Skip are glob patterns on case ids ("ALG-*"); an empty Run selects every case. See Select.
	Run, Skip []string
	// KnownFailing lists the cases the target is known to fail; nil means none.
	KnownFailing *KnownFailing
	// CallTimeout is each call's deadline; zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// Version is the jitbench version recorded in the result.
	Version string
}

// RunSuite runs OK-001 (the control) and then the selected cases against
// the target cfg describes, one after the other, and returns what each
// got. The error is a suite that could not run: a bad config or selection
// (ErrInvalidConfig, ErrSelection) or a target that cannot be reached
// (ErrUnreachable), with a nil result; or a run that proved nothing
// (ErrControlFailed, ErrNothingChecked, ErrSetup), with the result of what
// ran. Failed cases are in the result, not in the error.
func RunSuite(ctx context.Context, cfg *Config, opts Options) (*reports.ConformanceResult, error) {
	r, err := newRunner(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := r.result()
	err = r.runAll(res, func(c *Case) reports.ConformanceCase { return r.runCase(ctx, c) })
	res.Duration = reports.Duration(time.Since(r.start))
	return res, err
}

// runner runs cases against one target.
type runner struct {
	cfg   Config
	opts  Options
	cases []Case
	t     *target
	trap  *trap
	start time.Time
	stop  func() // releases what newRunner started for the config

	// identity signs identities for the broker, which speaks the reference's tokens.
	identity *token.Issuer
	// forger forges the credential the catalog's token cases break: the
	// grant (which is also the identity in the single-token profile);
	// idForger forges identity tokens in the two-token profile.
	forger, idForger *fakes.Forger

	controlPassed bool // OK-001's call was accepted
	// controlIdentity and controlGrant are what OK-001 sent, for its diagnosis.
	controlIdentity, controlGrant string
	setupErrors                   []string // "SCP-003: why", for ErrSetup
}

// newRunner checks cfg and opts, serves what the config serves, connects to the target and prepares the forgers.
func newRunner(ctx context.Context, cfg *Config, opts Options) (*runner, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no config", ErrInvalidConfig)
	}
	r := &runner{cfg: cfg.withDefaults(), opts: opts, start: time.Now(), stop: func() {}}
	if err := r.cfg.check(); err != nil {
		return nil, err
	}
	if r.opts.CallTimeout <= 0 {
		r.opts.CallTimeout = DefaultCallTimeout
	}
	var err error
	if r.cases, err = Select(opts.Run, opts.Skip); err != nil {
		return nil, err
	}
	if r.stop, err = cfg.serve(); err != nil {
		return nil, err
	}
	if r.trap, err = startTrap(); err != nil {
		r.stop()
		return nil, err
	}
	if r.t, err = connect(ctx, &r.cfg); err != nil {
		r.trap.close()
		r.stop()
		return nil, err
	}
	r.forger, r.idForger = r.cfg.forgers(r.trap.url)
	if c := &r.cfg; c.Identity.Keys != nil {
		r.identity = token.NewIssuer(c.Identity.Name, c.Identity.Keys, nil)
	}
	return r, nil
}

// forgers are the grant's forger and, with an identity issuer, the identity's.
func (c *Config) forgers(trapURL string) (grant, identity *fakes.Forger) {
	return c.forgersAt(trapURL, nil)
}

// forgersAt is forgers placing times against clock (nil: the real clock).
func (c *Config) forgersAt(trapURL string, clock clockwork.Clock) (grant, identity *fakes.Forger) {
	scope := token.Scope{Methods: []string{c.Method.Method}, Resource: c.Resource}
	g := c.GrantToken
	grant = &fakes.Forger{
		Keys: c.Grant.Keys, Issuer: c.Grant.Name, Audience: c.Audience, Subject: c.Subject,
		Leeway: c.Leeway, MaxLifetime: c.MaxGrantLifetime, Algorithms: c.Algorithms,
		Scope: scope, TrapURL: trapURL, Credential: fakes.CredentialGrant, Clock: clock,
		Template: g.Claims, MethodForm: g.MethodForm, Permissions: g.Permissions, Typ: g.Typ, NoTyp: g.NoTyp, NoKid: g.NoKid,
		OneShot: c.OneShotClaims, MaxTokenBytes: c.MaxTokenBytes, PublicKeyFile: c.Grant.PublicKeyFile,
	}
	if c.Identity.Keys == nil {
		return grant, nil
	}
	id := c.IdentityToken
	identity = &fakes.Forger{
		Keys: c.Identity.Keys, Issuer: c.Identity.Name, Audience: c.Audience, Subject: c.Subject,
		Leeway: c.Leeway, Algorithms: c.Algorithms, TrapURL: trapURL, Credential: fakes.CredentialIdentity, Clock: clock,
		Template: id.Claims, Typ: id.Typ, NoTyp: id.NoTyp, NoKid: id.NoKid,
		MaxTokenBytes: c.MaxTokenBytes, PublicKeyFile: c.Identity.PublicKeyFile,
	}
	if c.Profile == TwoToken && !id.NoTyp && !g.NoTyp {
		// CLM-010 sends a grant typed as this target's identity.
		grant.OtherTyp = identity.Typ
		if grant.OtherTyp == "" {
			grant.OtherTyp = token.TypeIdentity
		}
	}
	return grant, identity
}

// close releases the connection, the trap and what the config serves.
func (r *runner) close() {
	r.t.close()
	r.trap.close()
	r.stop()
}

// result is the result's header, before any case ran.
func (r *runner) result() *reports.ConformanceResult {
	res := &reports.ConformanceResult{
		Schema: reports.ConformanceSchema, Target: r.cfg.Address, Profile: string(r.cfg.Profile),
		Method: r.cfg.Method.Method, Start: r.start.UTC(), Version: r.opts.Version,
	}
	if r.cfg.HandlerCalls == nil {
		res.Notes = append(res.Notes, "handler runs are not observable on this target (Config.HandlerCalls, Go API): "+
			"the "+RuleHandlerNotRun+" rule was not checked")
	}
	if s, ok := r.cfg.KeySource.(*ServedKeys); ok {
		res.Notes = append(res.Notes, "the suite served the grant keys at "+s.URL())
	}
	return res
}

// runAll runs the control, then every other selected case, each through
// run, and appends their outcomes to res. The control is reported when it
// was selected or failed; when it fails the run stops.
func (r *runner) runAll(res *reports.ConformanceResult, run func(c *Case) reports.ConformanceCase) error {
	control, _ := Lookup("OK-001")
	out := run(&control)
	selected := false
	for _, c := range r.cases {
		selected = selected || c.ID == control.ID
	}
	if selected || !r.controlPassed {
		res.Cases = append(res.Cases, out)
	}
	if !r.controlPassed {
		return r.controlError(out)
	}
	for i := range r.cases {
		if c := &r.cases[i]; c.ID != control.ID {
			res.Cases = append(res.Cases, run(c))
		}
	}
	return r.runErrors(res)
}

// runErrors is what a finished run proved nothing about: setup failures, or no negative case checked.
func (r *runner) runErrors(res *reports.ConformanceResult) error {
	if len(r.setupErrors) > 0 {
		return fmt.Errorf("%w: %s", ErrSetup, strings.Join(r.setupErrors, "; "))
	}
	for _, c := range res.Cases {
		cc, _ := Lookup(c.ID)
		ran := c.Verdict == reports.CasePass || c.Verdict == reports.CaseFail || c.Verdict == reports.CaseKnownFail
		if ran && cc.Negative(r.cfg.Profile) {
			return nil
		}
	}
	return fmt.Errorf("%w: no case that expects a refusal ran (they were skipped or not selected), so the run proves nothing about the target", ErrNothingChecked)
}

// runCase runs c and turns its variants into the case's outcome.
func (r *runner) runCase(ctx context.Context, c *Case) reports.ConformanceCase {
	p := r.cfg.Profile
	out := reports.ConformanceCase{ID: c.ID, Fault: c.Fault}
	want := c.Want(p)
	if want.NotApplicable {
		out.Verdict = reports.CaseNotApplicable
		out.Detail = fmt.Sprintf("not part of the %s profile", p)
		return out
	}
	out.Want = reason.CodeName(want.Code)
	for _, a := range c.Also {
		out.Also = append(out.Also, reason.CodeName(a))
	}
	if why := r.missing(c.Needs); why != "" {
		out.Verdict = reports.CaseSkip
		out.Detail = "needs: " + string(c.Needs) + " (" + why + ")"
		return out
	}
	vs := c.run(r, ctx, c)
	var decide *variant
	var skipped []string
	for i := range vs {
		v := &vs[i]
		judge(c, p, v, r.cfg.StrictSignatures)
		out.Variants = append(out.Variants, r.report(v))
		switch {
		case v.skip != "":
			skipped = append(skipped, v.name+": "+v.skip)
		case decide == nil || (decide.passed() && !v.passed()):
			decide = v
		}
	}
	if c.ID == "OK-001" {
		r.controlPassed = decide != nil && decide.setup == "" && decide.code == want.Code
	}
	if decide == nil {
		out.Verdict = reports.CaseSkip
		out.Detail = strings.Join(skipped, "; ")
		return r.known(out)
	}
	if decide.setup != "" {
		// The harness could not stage the case: an error of the setup, never a verdict on the target.
		out.Verdict, out.Rule = reports.CaseSkip, RuleSetup
		out.Detail = "setup failed: " + decide.setup
		r.setupErrors = append(r.setupErrors, c.ID+": "+decide.setup)
		return out
	}
	out.Got, out.Reason = reason.CodeName(decide.code), decide.reason
	out.Message = excerpt(decide.message, decide.sent)
	out.Latency = reports.Duration(decide.latency)
	out.Verdict = reports.CasePass
	out.Detail = decide.note
	if len(skipped) > 0 {
		out.Detail = strings.TrimPrefix(out.Detail+"; not run: "+strings.Join(skipped, "; "), "; ")
	}
	if !decide.passed() {
		out.Verdict = reports.CaseFail
		out.Rule, out.Detail = decide.broken[0].rule, decide.broken[0].why
		if decide.name != "" && len(vs) > 1 {
			out.Detail = decide.name + ": " + out.Detail
		}
	}
	return r.known(out)
}

// report is a variant as the result shows it.
func (r *runner) report(v *variant) reports.ConformanceVariant {
	out := reports.ConformanceVariant{Name: v.name, Skipped: v.skip != "", Pass: v.passed(), Rules: v.rules(), Detail: v.note}
	if v.skip != "" {
		out.Detail = v.skip
		return out
	}
	if v.setup == "" {
		out.Got, out.Reason = reason.CodeName(v.code), v.reason
		out.Message = excerpt(v.message, v.sent)
		out.Latency = reports.Duration(v.latency)
	}
	if len(v.broken) > 0 {
		out.Detail = v.broken[0].why
	}
	return out
}

// known applies the known-failing list to a case's outcome.
func (r *runner) known(out reports.ConformanceCase) reports.ConformanceCase {
	kf := r.opts.KnownFailing
	if !kf.Has(out.ID) {
		return out
	}
	switch out.Verdict {
	case reports.CaseFail:
		out.Verdict = reports.CaseKnownFail
		out.Detail = "listed in " + kf.where(out.ID) + "; " + out.Rule + ": " + out.Detail
	case reports.CasePass:
		out.Verdict = reports.CaseFail
		out.Rule = RuleKnownFailingPassed
		out.Detail = fmt.Sprintf("%s passes now: remove %s from the known-failing list (%s)", out.ID, out.ID, kf.where(out.ID))
	}
	return out
}

// missing says why the config cannot give what need asks for; "" when it can.
func (r *runner) missing(need Need) string {
	c := &r.cfg
	switch {
	case need == NeedSizeLimit && c.MaxTokenBytes == 0:
		return "the config declares no token size limit (max_token_bytes)"
	case need == NeedECDSA && !hasKey(c.Grant.Keys, func(k *token.Key) bool { return k.Algorithm == token.ES256 && k.Private != nil }):
		return "the grant issuer has no ES256 key"
	case need == NeedAsymmetric && !hasKey(c.Grant.Keys, func(k *token.Key) bool { return k.Algorithm != token.HS256 }):
		return "the grant issuer's keys are HMAC secrets: there is no public key to confuse"
	case need == NeedKidRequired && !c.KidRequired:
		return "the config does not say the target refuses a kid it has no key for (kid_required: true)"
	case need == NeedKeySource && c.KeySource == nil:
		return "the target's key source is not under the suite's control (key_source; Config.KeySource from Go)"
	case need == NeedMaxLifetime && c.MaxGrantLifetime == 0:
		return "the config declares no maximum grant lifetime (max_grant_lifetime)"
	case need == NeedOneShot && !c.OneShot:
		return "the config does not say the target honours one-shot grants (one_shot)"
	case need == NeedTypChecked && !c.TypChecked:
		return "the config does not say the target checks typ (typ_checked: true)"
	case need == NeedResource && c.Resource == "":
		return "the config names no resource pattern for the payload (resource)"
	case need == NeedRevocation && c.Broker == nil && c.Revoker == nil:
		return "the config names no broker the target trusts and no revoke hook"
	case need == NeedStream && c.Stream == nil:
		return "the config names no streaming method (stream)"
	}
	return ""
}

// hasKey reports whether keys holds a key for which ok is true.
func hasKey(keys *token.KeySet, ok func(*token.Key) bool) bool {
	if keys == nil {
		return false
	}
	for _, k := range keys.Keys() {
		if ok(k) {
			return true
		}
	}
	return false
}

// credentials signs a valid pair from the target's layouts: identity (empty in single-token) and grant.
func (r *runner) credentials() (identity, grant string, err error) {
	if r.cfg.Profile == TwoToken {
		if identity, err = r.idForger.Valid(); err != nil {
			return "", "", fmt.Errorf("sign a valid identity: %w", err)
		}
	}
	if grant, err = r.forger.Valid(); err != nil {
		return "", "", fmt.Errorf("sign a valid grant: %w", err)
	}
	return identity, grant, nil
}

// mintIdentity signs a reference identity for the broker (its groups say who may approve); "" without an identity issuer.
func (r *runner) mintIdentity(subject string, groups []string, audience string) (string, error) {
	if r.identity == nil {
		return "", nil
	}
	return r.identity.Identity(token.IdentitySpec{Subject: subject, Groups: groups, Audience: audience, TTL: 5 * time.Minute})
}

// md is a call's metadata: in two-token the identity and the grant in their
// headers (either left out when empty); in single-token the grant alone in
// the identity header. Each value is the header's scheme and the token.
func (r *runner) md(identity, grant string) metadata.MD { return credentialMD(&r.cfg, identity, grant) }

// credentialMD is runner.md for any config with its defaults filled.
func credentialMD(c *Config, identity, grant string) metadata.MD {
	md := metadata.MD{}
	bearer := identity
	if c.Profile == SingleToken {
		bearer = grant
	}
	if bearer != "" {
		md.Append(c.IdentityHeader, withScheme(c.IdentityScheme, bearer))
	}
	if c.Profile == TwoToken && grant != "" {
		md.Append(c.GrantHeader, withScheme(c.GrantScheme, grant))
	}
	return md
}

// withScheme is a header value: the scheme, a space and the token, or the bare token.
func withScheme(scheme, tok string) string {
	if scheme == NoScheme || scheme == "" {
		return tok
	}
	return scheme + " " + tok
}

// headerScheme is scheme as fakes.HeaderValues takes it: "" for the bare token.
func headerScheme(scheme string) string {
	if scheme == NoScheme {
		return ""
	}
	return scheme
}

// call makes one call and records it as variant name: the answer, the
// handler runs and trap fetches it caused, and the tokens it carried.
func (r *runner) call(ctx context.Context, name string, cc callSpec) variant {
	if cc.conn == nil {
		cc.conn = r.t.conn
	}
	if cc.p == nil {
		cc.p = r.t.method
	}
	if cc.timeout == 0 {
		cc.timeout = r.opts.CallTimeout
	}
	if cc.bound == 0 {
		cc.bound = r.opts.CallTimeout
	}
	v := variant{name: name, bound: cc.bound, handlerRuns: -1}
	for _, vals := range cc.md {
		for _, val := range vals {
			if _, tok, found := strings.Cut(val, " "); found {
				v.sent = append(v.sent, tok)
			}
			v.sent = append(v.sent, val)
		}
	}
	v.sent = append(v.sent, cc.sent...)
	handlerBefore, fetchesBefore := r.handlerCalls(), r.trap.count()
	v.answer = r.t.do(ctx, cc.conn, cc.p, cc.md, cc.timeout, cc.opts...)
	if handlerBefore >= 0 {
		v.handlerRuns = r.handlerCalls() - handlerBefore
	}
	v.fetches = r.trap.count() - fetchesBefore
	return v
}

// callSpec is how to make one call; zero fields take the runner's defaults.
type callSpec struct {
	md      metadata.MD
	conn    *grpc.ClientConn // default: the target's connection
	p       *prepared        // default: the protected method's request
	timeout time.Duration    // default: Options.CallTimeout
	bound   time.Duration    // default: Options.CallTimeout
	opts    []grpc.CallOption
	sent    []string // tokens sent other than through md (by per-RPC credentials)
}

// handlerCalls reads the handler probe; -1 without one.
func (r *runner) handlerCalls() int64 {
	if r.cfg.HandlerCalls == nil {
		return -1
	}
	return r.cfg.HandlerCalls()
}

// failed is a variant that could not be staged, for the reason err gives.
func failed(name string, err error) variant {
	return variant{name: name, setup: err.Error(), handlerRuns: -1}
}
