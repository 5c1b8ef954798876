package conformance

import (
	"context"
	"fmt"
	"strings"
	"time"

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

// RunSuite runs the selected cases against the target cfg describes, one
// after the other, and returns what each got. The error is a suite that
// could not run: a bad config or selection (ErrInvalidConfig,
// ErrSelection) or a target that cannot be reached (ErrUnreachable).
// Failed cases are in the result, not in the error.
func RunSuite(ctx context.Context, cfg *Config, opts Options) (*reports.ConformanceResult, error) {
	r, err := newRunner(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := r.result()
	for i := range r.cases {
		res.Cases = append(res.Cases, r.runCase(ctx, &r.cases[i]))
	}
	res.Duration = reports.Duration(time.Since(r.start))
	return res, nil
}

// runner runs cases against one target.
type runner struct {
	cfg   Config
	opts  Options
	cases []Case
	t     *target
	trap  *trap
	start time.Time

	identity, grant *token.Issuer
	// forger forges the credential the catalog's token cases break: the
	// grant (which is also the identity in the single-token profile);
	// idForger forges identity tokens for ID-004 in the two-token profile.
	forger, idForger *fakes.Forger
}

// newRunner checks cfg and opts, connects to the target and prepares the forgers.
func newRunner(ctx context.Context, cfg *Config, opts Options) (*runner, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no config", ErrInvalidConfig)
	}
	r := &runner{cfg: cfg.withDefaults(), opts: opts, start: time.Now()}
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
	if r.trap, err = startTrap(); err != nil {
		return nil, err
	}
	if r.t, err = connect(ctx, &r.cfg); err != nil {
		r.trap.close()
		return nil, err
	}
	c := &r.cfg
	r.grant = token.NewIssuer(c.Grant.Name, c.Grant.Keys, nil)
	r.forger = &fakes.Forger{
		Keys: c.Grant.Keys, Issuer: c.Grant.Name, Audience: c.Audience, Subject: c.Subject,
		Leeway: c.Leeway, MaxLifetime: c.MaxGrantLifetime, Algorithms: c.Algorithms,
		Scope: r.scope(), TrapURL: r.trap.url, Credential: fakes.CredentialGrant,
	}
	if c.Identity.Keys != nil {
		r.identity = token.NewIssuer(c.Identity.Name, c.Identity.Keys, nil)
		r.idForger = &fakes.Forger{
			Keys: c.Identity.Keys, Issuer: c.Identity.Name, Audience: c.Audience, Subject: c.Subject,
			Leeway: c.Leeway, Algorithms: c.Algorithms, TrapURL: r.trap.url, Credential: fakes.CredentialIdentity,
		}
	}
	return r, nil
}

// close releases the connection and the trap.
func (r *runner) close() {
	r.t.close()
	r.trap.close()
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
	return res
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
		judge(c, p, v)
		out.Variants = append(out.Variants, r.report(v))
		switch {
		case v.skip != "":
			skipped = append(skipped, v.name+": "+v.skip)
		case decide == nil || (decide.passed() && !v.passed()):
			decide = v
		}
	}
	if decide == nil {
		out.Verdict = reports.CaseSkip
		out.Detail = strings.Join(skipped, "; ")
		return r.known(out)
	}
	if decide.setup == "" {
		out.Got, out.Reason = reason.CodeName(decide.code), decide.reason
		out.Message = excerpt(decide.message, decide.sent)
		out.Latency = reports.Duration(decide.latency)
	}
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
	case need == NeedBroker && c.Broker == nil:
		return "the config names no broker the target trusts"
	case need == NeedStream && c.Stream == nil:
		return "the config names no streaming method"
	case need == NeedOneShot && !c.OneShot:
		return "the config does not say the target honours one-shot grants (one_shot: true)"
	case need == NeedResource && c.Resource == "":
		return "the config names no resource pattern for the payload"
	case need == NeedKeySource && c.KeySource == nil:
		return "the target's key source is not under the suite's control: run it from Go with Config.KeySource"
	}
	return ""
}

// scope is what every valid grant allows: the protected method on the configured resource.
func (r *runner) scope() token.Scope {
	return token.Scope{Methods: []string{r.cfg.Method.Method}, Resource: r.cfg.Resource}
}

// grantTTL is the lifetime of valid grants: five minutes, or the target's maximum if shorter.
func (r *runner) grantTTL() time.Duration { return min(5*time.Minute, r.cfg.MaxGrantLifetime) }

// mintGrant signs a valid grant for the protected method with issuer (r.grant when nil).
func (r *runner) mintGrant(issuer *token.Issuer) (string, error) {
	if issuer == nil {
		issuer = r.grant
	}
	raw, _, err := issuer.Grant(token.GrantSpec{Subject: r.cfg.Subject, Audience: r.cfg.Audience, Scope: r.scope(), TTL: r.grantTTL()})
	return raw, err
}

// mintIdentity signs a valid identity for audience; "" in the single-token profile, which has none.
func (r *runner) mintIdentity(subject string, groups []string, audience string) (string, error) {
	if r.identity == nil {
		return "", nil
	}
	return r.identity.Identity(token.IdentitySpec{Subject: subject, Groups: groups, Audience: audience, TTL: r.grantTTL()})
}

// credentials signs a valid pair: identity (empty in single-token) and grant.
func (r *runner) credentials() (identity, grant string, err error) {
	if r.cfg.Profile == TwoToken {
		if identity, err = r.mintIdentity(r.cfg.Subject, nil, r.cfg.Audience); err != nil {
			return "", "", err
		}
	}
	grant, err = r.mintGrant(nil)
	return identity, grant, err
}

// md is a call's metadata: in two-token the identity and the grant in their
// headers (either left out when empty); in single-token the grant alone as the bearer token.
func (r *runner) md(identity, grant string) metadata.MD {
	md := metadata.MD{}
	bearer := identity
	if r.cfg.Profile == SingleToken {
		bearer = grant
	} else if grant != "" {
		md.Set(r.cfg.GrantHeader, grant)
	}
	if bearer != "" {
		md.Set(r.cfg.IdentityHeader, "Bearer "+bearer)
	}
	return md
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
			_, tok, found := strings.Cut(val, " ")
			if !found {
				tok = val
			}
			v.sent = append(v.sent, tok)
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
