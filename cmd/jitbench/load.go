package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/jitbench/jitbench/harness/load"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/filecap"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/reports"
)

// The in-process target's defaults: a call every grant allows.
const (
	inprocessMethod = "/demo.v1.Vault/Read"
	inprocessData   = `{"path":"secrets/db/password"}`
)

// grantNone sends no credentials but the -H headers.
const grantNone = "none"

// loadFlags are load's settings.
type loadFlags struct {
	kf                         keyFlags
	target, method             string
	rate, ramp                 string
	steps                      int
	rampOver                   time.Duration
	concurrency, connections   int
	maxInFlight                int
	duration, warmup, deadline time.Duration
	connectTimeout             time.Duration
	calls                      uint64
	grant, grantSource, broker string
	sub, resource              string
	grantTTL, renewBefore      time.Duration
	autoApprove                time.Duration
	headers                    []string
	data, dataFile             string
	useTLS, insecureSkipVerify bool
	cacert, cert, key, tlsName string
	out, html, format, name    string
	onPending                  string
	quiet                      bool
}

// What load does when its calls wait on approvals nobody gives (--on-pending).
const (
	onPendingStop = "stop"
	onPendingWait = "wait"
)

func newLoadCmd() *cobra.Command {
	var f loadFlags
	c := &cobra.Command{
		Use:   "load --target ADDR|inprocess [--method /pkg.Svc/Method] [flags]",
		Short: "Generate gRPC load against a JIT-protected service and report latency",
		Long: `Generate load against one gRPC method and print a latency report: calls by
gRPC code and JIT reason, latency percentiles (p50 to p99.99) overall, per
code and per reason, and a per-second timeline.

Open loop (--rate or --ramp) sends calls on a schedule whatever the server
does, and measures each call's latency from the time it was due: a server
that stalls for 2 s shows 2 s in the tail (ghz and fortio report a few
milliseconds). Closed loop (--concurrency, the default) keeps N calls in
flight and measures from the actual send. Calls still in flight when the run
ends finish within --deadline and count like any other.

The target is any host:port, called without generated code: the request is
--data (JSON, converted through the server's reflection) or --data-file
(binary protobuf). --target inprocess runs the reference JIT system (broker
and Vault) inside jitbench, approving every request after --auto-approve.

Each call carries an identity (authorization, or the --cert client
certificate) and a JIT grant (x-jit-grant) for --sub. --grant renew (the
default) obtains one grant per worker and a new one --renew-before it
expires; per-call obtains a new grant for every call; cached keeps each
worker's first grant even past its expiry (calls then fail GRANT_EXPIRED);
none sends only the -H headers. Grants come from the broker (the in-process
one, or --broker ADDR), or are signed with the development keys (or
--grant-keys) without approval (--grant-source mint).

A run that completes exits 0, even if every call failed: the report says
why (the most frequent status messages of each failed code and reason
included, tokens redacted). Bad flags, an unknown method or an unreachable
target exit 2. Ctrl-C stops sending: calls in flight finish, the report
covers the calls made, and the exit code is 1.

Grants from a broker need an approval. When every call waits on access
requests that stay pending (nothing approved, no call passing) for 3 s,
load says so in one line: approve them with 'jitbench access approve', or
start the server with 'jitbench serve --auto-approve 50ms'. --on-pending
stop (the default) then stops the run: the calls waiting are left out, the
report covers the calls made, and the exit code is 1. --on-pending wait
keeps waiting, for a reviewer who is on the way.

On a terminal a progress bar shows; elsewhere (a pipe, a file, CI) a
progress line goes to stderr every 5 s, so a run shorter than that prints
none. -q turns both off.`,
		Example: `  jitbench load --target inprocess --calls 2000
  jitbench load --target inprocess --rate 500/s --duration 10s --grant per-call
  jitbench load --target 127.0.0.1:7443 --method /demo.v1.Vault/Read -d '{"path":"secrets/db/password"}' \
      --concurrency 32 --connections 4 --duration 30s --warmup 2s -o result.json --html report.html
  jitbench serve --auto-approve 50ms &   # a broker that approves: grants from --broker need approvals
  jitbench load --target 127.0.0.1:7443 --method demo.v1.Vault.Read -d '{"path":"secrets/db/password"}' \
      --ramp 0→1000/s --duration 30s --grant renew --broker 127.0.0.1:7444
  jitbench load --target api.internal:443 --tls --cacert ca.crt --method /shop.v1.Cart/Get --data-file req.bin \
      --grant none -H "authorization: Bearer $TOKEN" --rate 200/s --duration 1m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLoad(cmd, &f) },
	}
	f.kf.register(c)
	fl := c.Flags()
	fl.StringVar(&f.target, "target", "", `host:port of the service, or "inprocess" for the reference JIT system run inside jitbench (required)`)
	fl.StringVar(&f.method, "method", "", "full method name, /pkg.Service/Method (default /demo.v1.Vault/Read for inprocess)")
	fl.StringVar(&f.rate, "rate", "", "open loop: calls per period, e.g. 1000/s, 50/100ms")
	fl.StringVar(&f.ramp, "ramp", "", "open loop: a rate ramped linearly, FROM→TO, e.g. 0→1000/s (or 0->1000/s)")
	fl.DurationVar(&f.rampOver, "ramp-over", 0, "how long the ramp takes (default: --duration)")
	fl.IntVar(&f.steps, "steps", 0, "with --ramp, climb in this many equal steps instead of a straight line")
	fl.IntVar(&f.concurrency, "concurrency", 0, "closed loop: calls kept in flight (default 16 when no rate is given)")
	fl.IntVar(&f.maxInFlight, "max-in-flight", load.DefaultMaxInFlight, "open loop: most calls in flight at once; a call due beyond it waits, still measured from its due time")
	fl.DurationVar(&f.duration, "duration", 0, "length of the measured run, after the warm-up (default 10s unless --calls is given)")
	fl.Uint64Var(&f.calls, "calls", 0, "number of measured calls, after the warm-up")
	fl.DurationVar(&f.warmup, "warmup", 0, "load run first and left out of the report")
	fl.IntVar(&f.connections, "connections", 1, "gRPC connections, used in turn")
	fl.DurationVar(&f.deadline, "deadline", load.DefaultDeadline, "deadline of each call, obtaining its grant included")
	fl.DurationVar(&f.connectTimeout, "connect-timeout", load.DefaultConnectTimeout, "how long to wait for the target's connections")
	fl.StringVar(&f.grant, "grant", string(load.Renew), "how calls get JIT grants: per-call, cached (one per worker, kept past its expiry), renew (one per worker, renewed before expiry) or none")
	fl.StringVar(&f.grantSource, "grant-source", "auto", "where grants come from: broker, mint (development or --grant-keys, no approval) or auto (broker for inprocess or with --broker, else mint)")
	fl.StringVar(&f.broker, "broker", "", "host:port of the JIT broker that grants come from")
	fl.StringVar(&f.sub, "sub", "alice", "subject of the identity and grants")
	fl.StringVar(&f.resource, "resource", "", "resource pattern minted grants are limited to (default: any)")
	fl.DurationVar(&f.grantTTL, "grant-ttl", 5*time.Minute, "lifetime asked for each grant (and of minted identities)")
	fl.DurationVar(&f.renewBefore, "renew-before", load.DefaultRenewBefore, "with --grant renew, obtain a new grant this long before the current one expires")
	fl.DurationVar(&f.autoApprove, "auto-approve", time.Millisecond, "inprocess: the broker approves every request after this delay")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `metadata sent with every call, "key: value" (repeatable)`)
	fl.StringVarP(&f.data, "data", "d", "", `the request as JSON, converted through server reflection (default for inprocess: {"path":"secrets/db/password"})`)
	fl.StringVar(&f.dataFile, "data-file", "", "the request as binary protobuf, read from this file (no reflection needed)")
	fl.BoolVar(&f.useTLS, "tls", false, "connect with TLS (implied by --cacert, --cert, --insecure-skip-verify)")
	fl.StringVar(&f.cacert, "cacert", "", "CA certificate (PEM) that signs the server's certificate (default: the system's roots)")
	fl.StringVar(&f.cert, "cert", "", "client certificate (PEM), for mTLS; needs --key; it is the caller's identity, so no identity token is sent")
	fl.StringVar(&f.key, "key", "", "client private key (PEM), for mTLS")
	fl.StringVar(&f.tlsName, "tls-server-name", "", "name to verify in the server's certificate (default: the target's host)")
	fl.BoolVar(&f.insecureSkipVerify, "insecure-skip-verify", false, "accept any server certificate (testing only)")
	fl.StringVarP(&f.out, "output", "o", "", "also write the result as JSON to this file (for 'jitbench report')")
	fl.StringVar(&f.html, "html", "", "also write the report as a self-contained HTML page to this file")
	fl.StringVar(&f.format, "format", "text", "report printed on stdout: text, md or json")
	fl.StringVar(&f.name, "name", "", "name of the run in the report")
	fl.StringVar(&f.onPending, "on-pending", onPendingStop, "when calls wait 3s on access requests nobody approves: stop (exit 1) or wait")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress: neither the bar (on a terminal) nor a line every 5s (elsewhere)")
	return c
}

// loadPlan is what the flags ask for, checked.
type loadPlan struct {
	opts      load.Options
	method    string
	inprocess bool
	header    metadata.MD
	grant     string
	source    string
}

func runLoad(cmd *cobra.Command, f *loadFlags) error {
	plan, err := f.plan()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	idKeys, grantKeys, err := f.kf.load()
	if err != nil {
		return err
	}
	var (
		dial load.DialOptions
		ref  *load.Reference
	)
	dial.Connections, dial.Timeout = f.connections, f.connectTimeout
	if plan.inprocess {
		startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
		ref, err = load.StartReference(startCtx, stack.SystemConfig{
			Service: stack.Config{
				IdentityIssuer: f.kf.identityIss, IdentityKeys: idKeys.Public(),
				GrantIssuer: f.kf.grantIss, Audience: f.kf.audience,
			},
			AutoApprove: f.autoApprove, GrantKeys: grantKeys,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("start the in-process reference system: %w", err)
		}
		defer ref.Close()
		dial.Dialer = ref.DialVault
		if h := loadHooksOf(ctx); h.reference != nil {
			h.reference(ref)
		}
	} else if f.tlsWanted() {
		if dial.TLS, err = (load.TLSFiles{CACert: f.cacert, Cert: f.cert, Key: f.key,
			InsecureSkipVerify: f.insecureSkipVerify, ServerName: f.tlsName}).Config(); err != nil {
			return usagef("TLS: %v", err)
		}
	}
	conns, err := load.Dial(ctx, f.target, dial)
	if err != nil {
		if ctx.Err() != nil {
			return usagef("interrupted while connecting to %s", f.target)
		}
		return usagef("--target: %v", err)
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()

	target, err := f.buildTarget(ctx, cmd.ErrOrStderr(), plan, conns)
	if err != nil {
		return err
	}
	plan.opts.Target = target
	hooks := loadHooksOf(ctx)
	approvals := &load.ApprovalWatch{}
	if hooks.approvals != nil {
		hooks.approvals(approvals)
	}
	creds, closeCreds, err := f.credentials(plan, ref, idKeys, grantKeys, approvals)
	if err != nil {
		return err
	}
	defer closeCreds()
	plan.opts.Credentials = creds
	plan.opts.Run.Method = target.Name()

	gen, err := load.New(plan.opts)
	if err != nil {
		return usageErr(err)
	}
	stderr := cmd.ErrOrStderr()
	stopProgress := func() {}
	switch {
	case f.quiet:
	case load.Interactive(stderr):
		stopProgress = load.StartProgress(stderr, gen).Stop
	default:
		stopProgress = load.StartProgressLog(stderr, gen, 0, hooks.clock).Stop
	}
	var stuck atomic.Pointer[string]
	guard := load.StartPendingGuard(gen, load.PendingOptions{Approvals: approvals, Clock: hooks.clock, OnStuck: func(s load.Stuck) {
		line := f.pendingLine(plan, s)
		if f.onPending == onPendingWait {
			fmt.Fprintf(stderr, "jitbench: note: %s; waiting, as --on-pending wait asks\n", line)
			return
		}
		stuck.Store(&line)
		gen.Abort(load.ErrApprovalsPending)
	}})
	res, runErr := gen.Run(ctx)
	guard.Stop()
	stopProgress()
	if err := f.writeOutputs(cmd.OutOrStdout(), stderr, res); err != nil {
		return err
	}
	switch {
	case errors.Is(runErr, load.ErrApprovalsPending):
		return failed(fmt.Errorf("stopped: %s (--on-pending wait keeps waiting); the report covers the %d calls that completed", *stuck.Load(), res.Calls))
	case runErr != nil:
		return failed(fmt.Errorf("interrupted: the report covers the %d calls made before", res.Calls))
	}
	return nil
}

// pendingLine says why calls wait and how to let them through.
func (f *loadFlags) pendingLine(p *loadPlan, s load.Stuck) string {
	what := fmt.Sprintf("calls waited %s for approvals that did not come (%d ended APPROVAL_PENDING)", s.For, s.PendingCalls)
	if s.Waiting > 0 {
		what = fmt.Sprintf("%d access requests have waited %s for a reviewer", s.Waiting, s.For)
	}
	if p.inprocess {
		return what + ": the in-process broker approves only with --auto-approve, e.g. --auto-approve 1ms"
	}
	return what + ": approve with `jitbench access approve`, or start `jitbench serve --auto-approve 50ms`"
}

// loadHooks let tests drive load's clock-driven parts, the progress lines
// and the approval checks, and see the run's approval watch and in-process
// reference system (to review its requests).
type loadHooks struct {
	clock     clockwork.Clock
	approvals func(*load.ApprovalWatch)
	reference func(*load.Reference)
}

type loadHooksKey struct{}

// loadHooksOf returns the hooks ctx carries, or the real clock.
func loadHooksOf(ctx context.Context) loadHooks {
	h, _ := ctx.Value(loadHooksKey{}).(loadHooks)
	if h.clock == nil {
		h.clock = clockwork.NewRealClock()
	}
	return h
}

// plan checks the flags that need no network and turns them into generator options.
func (f *loadFlags) plan() (*loadPlan, error) {
	p := &loadPlan{inprocess: f.target == load.InProcessTarget, grant: f.grant, source: f.grantSource}
	switch {
	case f.target == "":
		return nil, usagef("--target is required: host:port, or inprocess")
	case !p.inprocess:
		if _, port, err := net.SplitHostPort(f.target); err != nil || port == "" {
			return nil, usagef("--target: want host:port or inprocess, got %q", f.target)
		}
	}
	if !slices.Contains([]string{"text", "md", "json"}, f.format) {
		return nil, usagef("--format: want text, md or json, got %q", f.format)
	}
	method := f.method
	if method == "" {
		if !p.inprocess {
			return nil, usagef("--method is required: the full method name, e.g. /demo.v1.Vault/Read")
		}
		method = inprocessMethod
	}
	var err error
	if p.method, err = load.NormalizeMethod(method); err != nil {
		return nil, usagef("--method: %v", err)
	}
	if f.data != "" && f.dataFile != "" {
		return nil, usagef("--data and --data-file exclude each other: the request is JSON or binary, not both")
	}
	if p.inprocess && f.tlsWanted() {
		return nil, usagef("--target inprocess has no network: drop the TLS flags")
	}
	if p.header, err = parseHeaders(f.headers); err != nil {
		return nil, err
	}
	if err := f.planGrants(p); err != nil {
		return nil, err
	}
	if err := f.planLoad(p); err != nil {
		return nil, err
	}
	if f.onPending != onPendingStop && f.onPending != onPendingWait {
		return nil, usagef("--on-pending: want stop or wait, got %q", f.onPending)
	}
	return p, nil
}

// planLoad checks the schedule flags: open or closed loop, and how long.
func (f *loadFlags) planLoad(p *loadPlan) error {
	o := &p.opts
	switch {
	case f.duration < 0:
		return usagef("--duration must not be negative, got %s", f.duration)
	case f.warmup < 0:
		return usagef("--warmup must not be negative, got %s", f.warmup)
	case f.deadline <= 0:
		return usagef("--deadline must be positive, got %s", f.deadline)
	case f.connectTimeout <= 0:
		return usagef("--connect-timeout must be positive, got %s", f.connectTimeout)
	case f.connections < 1:
		return usagef("--connections must be at least 1, got %d", f.connections)
	case f.maxInFlight < 1:
		return usagef("--max-in-flight must be at least 1, got %d", f.maxInFlight)
	case f.concurrency < 0:
		return usagef("--concurrency must be positive, got %d", f.concurrency)
	case f.rate != "" && f.ramp != "":
		return usagef("--rate and --ramp exclude each other: a ramp ends at its own rate")
	case (f.rate != "" || f.ramp != "") && f.concurrency > 0:
		return usagef("--concurrency is closed loop and --rate/--ramp open loop: pick one")
	case f.ramp == "" && (f.steps != 0 || f.rampOver != 0):
		return usagef("--steps and --ramp-over shape a --ramp; there is none")
	}
	o.Duration, o.Calls, o.WarmUp, o.Deadline, o.MaxInFlight = f.duration, f.calls, f.warmup, f.deadline, f.maxInFlight
	if o.Duration == 0 && o.Calls == 0 {
		o.Duration = 10 * time.Second
	}
	o.Header = p.header
	o.Run = reports.Run{Name: f.name, Target: f.target, Connections: f.connections, Version: moduleVersion()}
	switch {
	case f.rate != "":
		r, err := load.ParseRate(f.rate)
		if err != nil {
			return usagef("--rate: %v", err)
		}
		if r.Freq == 0 {
			return usagef("--rate must be positive, got %q", f.rate)
		}
		o.Pacer, o.Run.Rate = load.ConstantPacer{Rate: r}, r.PerSecond()
	case f.ramp != "":
		from, to, err := load.ParseRamp(f.ramp)
		if err != nil {
			return usagef("--ramp: %v", err)
		}
		if from.Freq == 0 && to.Freq == 0 {
			return usagef("--ramp %q never sends a call", f.ramp)
		}
		over := f.rampOver
		if over == 0 && o.Duration > 0 {
			over = o.WarmUp + o.Duration
		}
		if over <= 0 {
			return usagef("--ramp needs --ramp-over or --duration: how long does it climb?")
		}
		switch {
		case f.steps == 0:
			lp := load.LinearPacer{From: from.PerSecond(), To: to.PerSecond(), Over: over}
			o.Pacer, o.Run.Pacer = lp, lp.String()
		case f.steps >= 2:
			sp := load.StepPacer{From: from.PerSecond(), To: to.PerSecond(), Steps: f.steps, Over: over}
			o.Pacer, o.Run.Pacer = sp, sp.String()
		default:
			return usagef("--steps must be at least 2, got %d (one step is --rate)", f.steps)
		}
		o.Run.Rate = to.PerSecond()
	default:
		o.Concurrency = f.concurrency
		if o.Concurrency == 0 {
			o.Concurrency = 16
		}
	}
	return nil
}

// planGrants checks the credential flags.
func (f *loadFlags) planGrants(p *loadPlan) error {
	if f.grant != grantNone {
		if _, err := load.ParseGrantMode(f.grant); err != nil {
			return usagef("--grant: %v (or none)", err)
		}
		if len(p.header.Get(interceptor.GrantHeader)) > 0 {
			return usagef("-H %s sends a grant of its own: add --grant none", interceptor.GrantHeader)
		}
		if f.sub == "" {
			return usagef("--sub is required: the subject calls are made as")
		}
		if f.grantTTL <= 0 {
			return usagef("--grant-ttl must be positive, got %s", f.grantTTL)
		}
	}
	if f.renewBefore <= 0 {
		return usagef("--renew-before must be positive, got %s", f.renewBefore)
	}
	if f.autoApprove < 0 {
		return usagef("--auto-approve must not be negative, got %s", f.autoApprove)
	}
	switch f.grantSource {
	case "auto":
		p.source = "mint"
		if p.inprocess || f.broker != "" {
			p.source = "broker"
		}
	case "mint":
	case "broker":
		if !p.inprocess && f.broker == "" {
			return usagef("--grant-source broker needs --broker host:port")
		}
	default:
		return usagef("--grant-source: want broker, mint or auto, got %q", f.grantSource)
	}
	if f.broker != "" {
		if p.inprocess {
			return usagef("--target inprocess has its own broker: drop --broker")
		}
		if _, port, err := net.SplitHostPort(f.broker); err != nil || port == "" {
			return usagef("--broker: want host:port, got %q", f.broker)
		}
	}
	return nil
}

func (f *loadFlags) tlsWanted() bool {
	return f.useTLS || f.cacert != "" || f.cert != "" || f.key != "" || f.insecureSkipVerify || f.tlsName != ""
}

// parseHeaders reads -H "key: value" lines into metadata.
func parseHeaders(lines []string) (metadata.MD, error) {
	md := metadata.MD{}
	for _, h := range lines {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, usagef(`-H %q: want "key: value"`, h)
		}
		md.Append(strings.ToLower(k), strings.TrimSpace(v))
	}
	return md, nil
}

// buildTarget resolves the method and prepares its request.
func (f *loadFlags) buildTarget(ctx context.Context, stderr io.Writer, p *loadPlan, conns []*grpc.ClientConn) (*load.Method, error) {
	var resolver load.Resolver
	if p.inprocess {
		resolver = load.Local(protoregistry.GlobalFiles) // the reference is linked into jitbench
	} else {
		resolver = load.Reflection(conns[0])
	}
	rctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, p.header), f.connectTimeout)
	schema, err := resolver.Resolve(rctx, p.method)
	cancel()
	data := f.data
	if data == "" && f.dataFile == "" && p.inprocess {
		data = inprocessData
	}
	switch {
	case errors.Is(err, load.ErrUnknownMethod):
		return nil, usagef("--method: %v", err)
	case err != nil && data != "":
		return nil, usagef("--data needs the method's schema from server reflection, which failed at %s: %v (send --data-file with the request as binary protobuf)", f.target, err)
	case err != nil:
		fmt.Fprintf(stderr, "jitbench: note: %v: %s is not checked and is called as a unary method\n", err, p.method)
	case schema.Method.IsStreamingClient():
		return nil, usagef("--method: %s is a client-streaming method; load calls unary and server-streaming methods", p.method)
	}
	var request []byte
	switch {
	case data != "":
		if request, err = schema.Request([]byte(data)); err != nil {
			return nil, usagef("--data: %v", err)
		}
	case f.dataFile != "":
		if request, err = filecap.ReadFile(f.dataFile, filecap.Payload); err != nil {
			return nil, usagef("--data-file: %v", err)
		}
	}
	streams := schema != nil && schema.Method.IsStreamingServer()
	m, err := load.NewMethod(conns, p.method, request, streams)
	if err != nil {
		return nil, usagef("--method: %v", err)
	}
	return m, nil
}

// credentials builds what each call carries: an identity and a grant as
// --grant says, the broker's answers counted by approvals. closeFn releases
// the broker connection, if any.
func (f *loadFlags) credentials(p *loadPlan, ref *load.Reference, idKeys, grantKeys *token.KeySet, approvals *load.ApprovalWatch) (creds load.Credentials, closeFn func(), err error) {
	closeFn = func() {}
	if p.grant == grantNone {
		return nil, closeFn, nil
	}
	ids := token.NewIssuer(f.kf.identityIss, idKeys, nil)
	minting := &interceptor.Minting{
		Identities: ids,
		Grants:     token.NewIssuer(f.kf.grantIss, grantKeys, nil),
		Subject:    f.sub, Audience: f.kf.audience, TTL: f.grantTTL, Resource: f.resource,
	}
	cfg := load.GrantConfig{
		Mode: load.GrantMode(p.grant), Method: p.method, Identity: minting,
		RenewBefore: f.renewBefore, Source: load.Shared(minting),
	}
	if len(p.header.Get(interceptor.IdentityHeader)) > 0 || f.cert != "" {
		cfg.Identity = nil // -H sends it, or the client certificate is the identity (mTLS)
	}
	if p.source == "broker" {
		tok, err := ids.Identity(token.IdentitySpec{Subject: f.sub, Audience: stack.BrokerAudience, TTL: 24 * time.Hour})
		if err != nil {
			return nil, closeFn, usagef("--identity-keys: cannot sign an identity: %v", err)
		}
		var conn *grpc.ClientConn
		if ref != nil {
			conn, err = ref.BrokerConn(tok)
		} else {
			conn, err = load.BrokerConn(f.broker, tok)
		}
		if err != nil {
			return nil, closeFn, usagef("--broker: %v", err)
		}
		closeFn = func() { _ = conn.Close() }
		cfg.Source = load.PerWorkerBroker(approvals.Client(jitv1.NewBrokerClient(conn)), brokerclient.Options{
			Service: f.kf.audience, Duration: f.grantTTL, RenewBefore: f.renewBefore,
			Justification: "jitbench load",
		})
	}
	g, err := load.NewGrants(cfg)
	if err != nil {
		closeFn()
		return nil, func() {}, usageErr(err)
	}
	return g, closeFn, nil
}

// writeOutputs prints the report and writes the files asked for.
func (f *loadFlags) writeOutputs(stdout, stderr io.Writer, res *reports.Result) error {
	if err := reports.Render(stdout, res, f.format); err != nil {
		return err
	}
	for _, out := range []struct{ path, format string }{{f.out, "json"}, {f.html, "html"}} {
		if out.path == "" {
			continue
		}
		if err := writeReport(out.path, res, out.format); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "jitbench: wrote %s\n", out.path)
	}
	return nil
}

// writeReport renders res into a new or replaced file.
func writeReport(path string, res *reports.Result, format string) error {
	return renderFile(path, func(w io.Writer) error { return reports.Render(w, res, format) })
}

// renderFile writes what render writes into a new or replaced file at
// path: a file that cannot be created is a usage error (exit 2).
func renderFile(path string, render func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return usagef("%v", err)
	}
	if err := render(file); err != nil {
		_ = file.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
