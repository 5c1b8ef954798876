package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/demo"
	"github.com/jitbench/jitbench/reference/devtls"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// serveInfo is what serve prints for people and, with --json, for machines.
// With --role broker there is no Vault, so the Vault's fields are left out;
// with --role vault, broker_addr is the broker the Vault trusts.
type serveInfo struct {
	Role        string   `json:"role"`
	Addr        string   `json:"addr,omitempty"`
	BrokerAddr  string   `json:"broker_addr"`
	MetricsAddr string   `json:"metrics_addr"`
	TLS         bool     `json:"tls"`
	TLSDir      string   `json:"tls_dir,omitempty"`
	Subject     string   `json:"subject,omitempty"`
	Identity    string   `json:"identity,omitempty"`
	Grant       string   `json:"grant,omitempty"`
	Protected   []string `json:"protected,omitempty"`
}

// serveFlags are serve's settings; printServeHelp reads them to say what runs.
type serveFlags struct {
	kf                        keyFlags
	addr, brokerAddr, metrics string
	useTLS                    bool
	tlsDir                    string
	subject                   string
	tokenTTL, leeway, maxLife time.Duration
	algorithms                []string
	asJSON                    bool
	dataDir, policyFile       string
	autoApprove, maxStaleness time.Duration
	revocationMode            string
	singleToken               bool
	heartbeat                 time.Duration
	role, brokerTarget        string
}

// The parts of the reference system serve can run (--role).
const (
	roleAll    = "all"
	roleBroker = "broker"
	roleVault  = "vault"
)

// roleFlags lists the flags that configure one part only, so a flag given
// to a role that does not run that part is refused instead of ignored.
var roleFlags = map[string][]string{
	roleBroker: {"broker-addr", "data-dir", "policy", "auto-approve", "metrics-addr", "heartbeat-interval"},
	roleVault: {"addr", "broker-target", "tls", "tls-dir", "sub", "token-ttl", "max-lifetime",
		"revocation-mode", "max-staleness", "single-token"},
}

// defaultBrokerAddr is where serve puts the broker and where the access commands look for it.
const defaultBrokerAddr = "127.0.0.1:7444"

// startupTimeout bounds how long serve waits for the Vault to hear the broker's revocation feed.
const startupTimeout = 15 * time.Second

// shutdownGrace is how long calls under way may run on after a stop was asked for.
const shutdownGrace = 5 * time.Second

func newServeCmd() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference JIT system (broker and protected Vault), together or one part per process",
		Long: `Run the reference JIT system: the access broker (jit.v1.Broker on
--broker-addr) and the JIT-protected demo service (demo.v1.Vault on --addr:
unary Read and Write, server-streaming List, plus gRPC health and
reflection). The Vault fetches its grant keys from the broker and follows
its revocation feed, as a deployed service would.

Every Vault call needs an identity (authorization: Bearer <identity JWT>, or
with --tls a client certificate from the printed development CA) and a JIT
grant (x-jit-grant: <grant JWT>) whose scope covers the method and path.
Grants come from the broker after approval ('jitbench access request', a
reviewer's 'jitbench access approve'), or, to skip approval, from the
printed example tokens and 'jitbench token mint'. Denials carry a
google.rpc.ErrorInfo reason; 'jitbench token explain' says why a token is
refused.

The broker keeps its state in memory unless --data-dir names a directory;
there, requests, grants, revocations and the audit log survive a restart
(and kill -9), and 'jitbench audit export' reads the audit log once serve
has stopped. Without --policy, requests for any demo.v1.Vault method need one
approval from a member of group security. Stops cleanly on Ctrl-C or SIGTERM.

--role splits the system across processes or containers, as deployed:
--role broker runs only the broker (with --data-dir on a volume, its state
survives the container), --role vault runs only the Vault, which fetches its
grant keys from --broker-target and follows that broker's revocation feed;
it starts serving once it has both, so a passing gRPC health check means
ready. A flag of the part a role does not run is refused. The broker sends
a revocation-feed heartbeat every --heartbeat-interval: keep it well under
the Vault's --max-staleness, or a strict Vault refuses grants between two
heartbeats.`,
		Example: `  jitbench serve
  jitbench serve --auto-approve 50ms                    # approve every request after 50ms (demos, load)
  jitbench serve --data-dir ./broker-state --policy policy.yaml --metrics-addr 127.0.0.1:9090
  jitbench serve --addr 127.0.0.1:0 --broker-addr 127.0.0.1:0 --json
  jitbench serve --tls --tls-dir ./dev-tls
  jitbench serve --role broker --broker-addr 0.0.0.0:7444 --data-dir /data --heartbeat-interval 500ms
  jitbench serve --role vault --addr 0.0.0.0:7443 --broker-target broker:7444 --revocation-mode strict --max-staleness 2s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, &f) },
	}
	f.kf.register(c)
	fl := c.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:7443", "the Vault's listen address (port 0 picks a free port)")
	fl.StringVar(&f.brokerAddr, "broker-addr", defaultBrokerAddr, "the broker's listen address (port 0 picks a free port)")
	fl.StringVar(&f.dataDir, "data-dir", "", "keep the broker's state in this directory, created if missing (default: in memory, lost on exit)")
	fl.StringVar(&f.policyFile, "policy", "", "approval policy file (YAML; default: one approval from group security for any demo.v1.Vault method)")
	fl.DurationVar(&f.autoApprove, "auto-approve", 0, "approve every request after this delay, e.g. 50ms (default 0: requests wait for a reviewer)")
	fl.StringVar(&f.metrics, "metrics-addr", "", "serve the broker's Prometheus metrics at http://ADDR/metrics (default: off)")
	fl.StringVar(&f.revocationMode, "revocation-mode", brokerclient.Strict.String(), "what the Vault does when its revocation view is stale: strict (refuse grants) or best_effort (keep allowing)")
	fl.DurationVar(&f.maxStaleness, "max-staleness", brokerclient.DefaultMaxStaleness, "how old the Vault's revocation view may get before --revocation-mode applies")
	fl.BoolVar(&f.useTLS, "tls", false, "serve the Vault over TLS with a generated development CA; client certificates from it are accepted as identities (mTLS)")
	fl.StringVar(&f.tlsDir, "tls-dir", "", "with --tls, write ca.crt, server.* and client.* here (default: a new temporary directory)")
	fl.StringVar(&f.subject, "sub", "alice", "subject of the printed example tokens and client certificate")
	fl.DurationVar(&f.tokenTTL, "token-ttl", time.Hour, "lifetime of the printed example tokens")
	fl.DurationVar(&f.leeway, "leeway", token.DefaultLeeway, "clock-skew tolerance of the verifiers")
	fl.DurationVar(&f.maxLife, "max-lifetime", stack.DefaultMaxGrantLifetime, "longest grant lifetime the Vault accepts")
	fl.StringSliceVar(&f.algorithms, "algorithms", token.DefaultAlgorithms(), "algorithms the verifiers accept")
	fl.BoolVar(&f.singleToken, "single-token", false, "serve the single-token profile: the grant alone, sent as \"authorization: Bearer <grant>\", is identity and permission (for conformance checks of that profile)")
	fl.BoolVar(&f.asJSON, "json", false, "print the addresses and example tokens as one JSON line instead of the help text")
	fl.StringVar(&f.role, "role", roleAll, "what to run: all (broker and Vault), broker (only the broker) or vault (only the Vault, trusting --broker-target)")
	fl.StringVar(&f.brokerTarget, "broker-target", defaultBrokerAddr, "with --role vault, host:port of the broker the Vault fetches grant keys and revocations from")
	fl.DurationVar(&f.heartbeat, "heartbeat-interval", 0, "how often the broker sends a revocation-feed heartbeat (default: a third of --max-staleness, at most 5s)")
	return c
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	if err := f.checkRole(cmd); err != nil {
		return err
	}
	for _, a := range f.algorithms {
		if err := token.CheckAlgorithm(a); err != nil {
			return usagef("--algorithms: %v", err)
		}
	}
	// The service has no "no limit": a zero lifetime would silently
	// become stack.DefaultMaxGrantLifetime and refuse the printed grant.
	if f.maxLife <= 0 {
		return usagef("--max-lifetime must be positive, got %s", f.maxLife)
	}
	if f.tokenTTL <= 0 || f.tokenTTL > f.maxLife {
		return usagef("--token-ttl must be positive and at most --max-lifetime (%s)", f.maxLife)
	}
	if f.autoApprove < 0 {
		return usagef("--auto-approve must not be negative, got %s", f.autoApprove)
	}
	if f.maxStaleness <= 0 {
		return usagef("--max-staleness must be positive, got %s", f.maxStaleness)
	}
	if f.heartbeat < 0 {
		return usagef("--heartbeat-interval must not be negative, got %s", f.heartbeat)
	}
	if f.heartbeat == 0 {
		f.heartbeat = min(broker.DefaultHeartbeatInterval, f.maxStaleness/3)
	}
	mode, err := brokerclient.ParseMode(f.revocationMode)
	if err != nil {
		return usagef("--revocation-mode: %v", err)
	}
	var pol *policy.Policy // nil: the system's default, fitted to the audience
	if f.policyFile != "" {
		if pol, err = policy.Load(f.policyFile); err != nil {
			return usagef("--policy: %v", err)
		}
	}
	idKeys, grantKeys, err := f.kf.load()
	if err != nil {
		return err
	}
	cfg := stack.Config{
		IdentityIssuer: f.kf.identityIss, IdentityKeys: idKeys.Public(),
		GrantIssuer: f.kf.grantIss,
		Audience:    f.kf.audience, Algorithms: f.algorithms, Leeway: f.leeway, MaxGrantLifetime: f.maxLife,
		SingleToken: f.singleToken,
	}
	runsBroker, runsVault := f.role != roleVault, f.role != roleBroker

	info := serveInfo{Role: f.role, BrokerAddr: f.brokerTarget}
	var lis, blis, mlis net.Listener
	if runsVault {
		if lis, err = net.Listen("tcp", f.addr); err != nil {
			return usagef("--addr: %v", err)
		}
		defer lis.Close()
		info.Addr, info.Subject, info.Protected = lis.Addr().String(), f.subject, demo.ProtectedMethods()
	}
	if runsBroker {
		if blis, err = net.Listen("tcp", f.brokerAddr); err != nil {
			return usagef("--broker-addr: %v", err)
		}
		defer blis.Close()
		info.BrokerAddr = blis.Addr().String()
		if f.metrics != "" {
			if mlis, err = net.Listen("tcp", f.metrics); err != nil {
				return usagef("--metrics-addr: %v", err)
			}
			defer mlis.Close()
			info.MetricsAddr = mlis.Addr().String()
		}
	}
	if runsVault {
		if err := f.vaultInfo(&info, &cfg, idKeys, grantKeys); err != nil {
			return err
		}
		if info.TLS && f.tlsDir == "" {
			// A directory we made up is ours to remove; one the user named is theirs.
			defer os.RemoveAll(info.TLSDir)
		}
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancelStart := context.WithTimeout(ctx, startupTimeout)
	sysCfg := stack.SystemConfig{
		Service: cfg, DataDir: f.dataDir, Policy: pol, AutoApprove: f.autoApprove, GrantKeys: grantKeys,
		RevocationMode: mode, MaxStaleness: f.maxStaleness, HeartbeatInterval: f.heartbeat,
	}
	var sys *stack.System
	switch f.role {
	case roleBroker:
		sys, err = stack.StartBroker(sysCfg, blis)
	case roleVault:
		sys, err = stack.StartService(startCtx, sysCfg, f.brokerTarget, lis)
	default:
		sys, err = stack.StartSystem(startCtx, sysCfg, blis, lis)
	}
	cancelStart()
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return startErr(err)
	}
	var metricsSrv *http.Server
	if mlis != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", sys.Broker.MetricsHandler())
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = metricsSrv.Serve(mlis) }()
	}

	out := cmd.OutOrStdout()
	switch {
	case f.asJSON:
		if err := json.NewEncoder(out).Encode(info); err != nil {
			sys.Stop()
			return err
		}
	case f.role == roleBroker:
		printBrokerHelp(out, info, f, pol, cfg.WithDefaults())
	default:
		printServeHelp(out, info, f, pol, cfg.WithDefaults())
	}

	<-ctx.Done()
	// Calls under way on the Vault finish (up to shutdownGrace); the
	// broker then ends its watchers with UNAVAILABLE ("shutting down")
	// rather than a cut connection, and the store closes last.
	if sys.Service != nil {
		done := make(chan struct{})
		go func() { sys.Service.Server.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(shutdownGrace):
		}
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close()
	}
	if sys.Broker != nil {
		_ = sys.Broker.Close()
	}
	sys.Stop()
	if !f.asJSON {
		fmt.Fprintln(out, "stopped")
	}
	return nil
}

// checkRole refuses an unknown --role and flags of a part the role does not run.
func (f *serveFlags) checkRole(cmd *cobra.Command) error {
	var other string
	switch f.role {
	case roleAll:
		if cmd.Flags().Changed("broker-target") {
			return usagef("--broker-target names the broker a lone Vault trusts: use it with --role vault (--role all runs its own broker)")
		}
		return nil
	case roleBroker:
		other = roleVault
	case roleVault:
		other = roleBroker
	default:
		return usagef("--role: want all, broker or vault, got %q", f.role)
	}
	for _, name := range roleFlags[other] {
		if cmd.Flags().Changed(name) {
			return usagef("--%s configures the %s, which --role %s does not run", name, other, f.role)
		}
	}
	if f.role == roleVault {
		if _, port, err := net.SplitHostPort(f.brokerTarget); err != nil || port == "" {
			return usagef("--broker-target: want host:port, got %q", f.brokerTarget)
		}
	}
	return nil
}

// vaultInfo fills what serve prints about the Vault: TLS files and the
// example tokens. With --tls it also sets cfg's TLS.
func (f *serveFlags) vaultInfo(info *serveInfo, cfg *stack.Config, idKeys, grantKeys *token.KeySet) (err error) {
	if f.useTLS {
		host, _, _ := net.SplitHostPort(info.Addr)
		if info.TLSDir, err = writeDevTLS(f.tlsDir, host, f.subject, cfg); err != nil {
			return err
		}
		info.TLS = true
	}
	if info.Identity, err = token.NewIssuer(f.kf.identityIss, idKeys, nil).Identity(token.IdentitySpec{
		Subject: f.subject, Audience: f.kf.audience, TTL: f.tokenTTL}); err != nil {
		return usageErr(err)
	}
	if info.Grant, _, err = token.NewIssuer(f.kf.grantIss, grantKeys, nil).Grant(token.GrantSpec{
		Subject: f.subject, Audience: f.kf.audience, TTL: f.tokenTTL,
		Scope: token.Scope{Methods: []string{"/demo.v1.Vault/Read", "/demo.v1.Vault/List"}, Resource: "secrets/*"}}); err != nil {
		return usageErr(err)
	}
	return nil
}

// startErr sorts a failed start: a data directory that is locked, corrupt
// or unusable is bad config (exit 2), anything else a failure (exit 1).
func startErr(err error) error {
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, store.ErrLocked):
		return usagef("--data-dir: %v (is another 'jitbench serve' using it?)", err)
	case errors.Is(err, store.ErrCorrupt), errors.As(err, &pathErr):
		return usagef("--data-dir: %v", err)
	}
	return fmt.Errorf("start: %w", err)
}

func writeDevTLS(dir, host, subject string, cfg *stack.Config) (string, error) {
	ca, err := devtls.NewCA(24 * time.Hour)
	if err != nil {
		return "", err
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if host != "" && host != "127.0.0.1" && host != "::1" {
		hosts = append(hosts, host)
	}
	srv, err := ca.Server(hosts...)
	if err != nil {
		return "", err
	}
	client, err := ca.Client(subject)
	if err != nil {
		return "", err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "jitbench-tls-"); err != nil {
			return "", err
		}
	}
	if err := ca.WriteFiles(dir, map[string]*devtls.Pair{"server": srv, "client": client}); err != nil {
		return "", usagef("--tls-dir: %v", err)
	}
	cfg.TLS = ca.ServerConfig(srv)
	cfg.PeerIdentity = true
	return filepath.Abs(dir)
}

// printBrokerHelp is what serve --role broker prints for people.
func printBrokerHelp(w io.Writer, info serveInfo, f *serveFlags, pol *policy.Policy, cfg stack.Config) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("jitbench serve --role broker: access broker jit.v1.Broker on %s (plaintext), no Vault", info.BrokerAddr)
	printBrokerLines(p, info, f, pol, cfg)
	p("  trusts identity issuer %q for audience %q; signs grants as %q; algorithms %s; leeway %s",
		cfg.IdentityIssuer, stack.BrokerAudience, cfg.GrantIssuer, strings.Join(orDefault(cfg.Algorithms), ","), orLeeway(cfg.Leeway))
	p("  open:        grpc.health.v1.Health, server reflection, the revocation feed and public keys (for Vaults)")
	p("")
	p("A Vault that trusts this broker:")
	p("  jitbench serve --role vault --broker-target %s", info.BrokerAddr)
	p("Requests and reviews:")
	p("  jitbench access request --broker %s --as alice --scope Read --resource 'secrets/*' --wait 1m --grant-only", info.BrokerAddr)
	p("  jitbench access list --broker %s --as carol --group security --state pending", info.BrokerAddr)
	p("")
	p("Serving; Ctrl-C stops.")
}

// printBrokerLines says where the broker listens, where its state lives,
// its policy, approvals, heartbeat and metrics.
func printBrokerLines(p func(string, ...any), info serveInfo, f *serveFlags, pol *policy.Policy, cfg stack.Config) {
	state := "in memory: lost when serve stops (--data-dir DIR keeps it)"
	if f.dataDir != "" {
		state = fmt.Sprintf("in %s: survives restarts; 'jitbench audit export --data-dir %s' reads the audit log once serve stops", f.dataDir, f.dataDir)
	}
	p("  broker:      jit.v1.Broker on %s (plaintext); state %s", info.BrokerAddr, state)
	if f.policyFile == "" {
		d := policy.Default().Rules[0]
		p("  policy:      built in: any %s method, %d approval from group %s, grants up to %s, requests pending up to %s",
			cfg.Audience, d.Approvals, strings.Join(d.Approvers, ","), shortDuration(d.MaxDuration), shortDuration(d.PendingTimeout))
	} else {
		names := make([]string, len(pol.Rules))
		for i, r := range pol.Rules {
			names[i] = r.Name
		}
		p("  policy:      %s (rules, first match applies: %s)", f.policyFile, strings.Join(names, ", "))
	}
	if f.autoApprove > 0 {
		p("  approval:    every request is approved by policy after %s (--auto-approve)", f.autoApprove)
	} else {
		p("  approval:    requests wait for a reviewer (--auto-approve 50ms approves them for demos)")
	}
	p("  heartbeat:   the revocation feed carries a heartbeat every %s (--heartbeat-interval)", f.heartbeat)
	if info.MetricsAddr != "" {
		p("  metrics:     http://%s/metrics", info.MetricsAddr)
	} else {
		p("  metrics:     off (--metrics-addr 127.0.0.1:9090 serves them)")
	}
}

func printServeHelp(w io.Writer, info serveInfo, f *serveFlags, pol *policy.Policy, cfg stack.Config) {
	mode := "plaintext"
	grpcurlTLS := "-plaintext"
	ghzTLS := "--insecure"
	if info.TLS {
		mode = "TLS, client certificates accepted as identities"
		grpcurlTLS = fmt.Sprintf("-cacert %s", filepath.Join(info.TLSDir, "ca.crt"))
		ghzTLS = fmt.Sprintf("--cacert %s", filepath.Join(info.TLSDir, "ca.crt"))
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	if f.role == roleVault {
		p("jitbench serve --role vault: reference JIT service on %s (%s)", info.Addr, mode)
		p("  broker:      the Vault trusts the broker at %s for grant keys and revocations (--broker-target)", info.BrokerAddr)
	} else {
		p("jitbench serve: reference JIT service on %s (%s)", info.Addr, mode)
		printBrokerLines(p, info, f, pol, cfg)
	}
	p("  revocations: the Vault follows the broker's feed; %s when it is older than %s", f.revocationMode, f.maxStaleness)
	p("  trusts identity issuer %q and grant issuer %q for audience %q; algorithms %s; leeway %s",
		cfg.IdentityIssuer, cfg.GrantIssuer, cfg.Audience, strings.Join(orDefault(cfg.Algorithms), ","), orLeeway(cfg.Leeway))
	p("  protected: %s", strings.Join(info.Protected, " "))
	p("  open:      grpc.health.v1.Health, server reflection")
	p("")
	p("Example tokens for %q, valid %s, minted without approval (grant: Read and List on secrets/*):", info.Subject, shortDuration(f.tokenTTL))
	p("  export ID='%s'", info.Identity)
	p("  export GRANT='%s'", info.Grant)
	p("")
	p("Allowed call:")
	p(`  grpcurl %s -H "authorization: Bearer $ID" -H "x-jit-grant: $GRANT" -d '{"path":"secrets/db/password"}' %s demo.v1.Vault/Read`, grpcurlTLS, info.Addr)
	p("Refused calls (PERMISSION_DENIED, see the ErrorInfo reason):")
	p(`  grpcurl %s -H "authorization: Bearer $ID" -H "x-jit-grant: $GRANT" -d '{"path":"public/motd"}' %s demo.v1.Vault/Read     # GRANT_SCOPE_MISMATCH`, grpcurlTLS, info.Addr)
	p(`  grpcurl %s -H "authorization: Bearer $ID" -H "x-jit-grant: ${GRANT%%??????????}AAAAAAAAAA" -d '{"path":"secrets/db/password"}' %s demo.v1.Vault/Read   # GRANT_BAD_SIGNATURE (tampered)`, grpcurlTLS, info.Addr)
	if info.TLS {
		p("mTLS identity instead of the bearer token:")
		p(`  grpcurl %s -cert %s -key %s -H "x-jit-grant: $GRANT" -d '{"path":"secrets/db/password"}' %s demo.v1.Vault/Read`,
			grpcurlTLS, filepath.Join(info.TLSDir, "client.crt"), filepath.Join(info.TLSDir, "client.key"), info.Addr)
	}
	p("Load:")
	p(`  ghz %s --call demo.v1.Vault.Read -d '{"path":"secrets/db/password"}' -m '{"authorization":"Bearer '"$ID"'","x-jit-grant":"'"$GRANT"'"}' -n 2000 -c 16 %s`, ghzTLS, info.Addr)
	p("Why was a token refused?")
	p(`  jitbench token explain "$GRANT"`)
	p(`  jitbench token mint --sub %s --scope /demo.v1.Vault/Write --resource 'secrets/*'   # a grant for Write, no approval`, info.Subject)
	p("")
	printWalkthrough(p, info, f, pol, cfg, grpcurlTLS)
	p("")
	p("Serving; Ctrl-C stops.")
}

// walkRequester and walkReviewer are the people of the printed walkthrough.
const (
	walkRequester = "alice"
	walkReviewer  = "carol"
	walkResource  = "secrets/*"
)

// printWalkthrough prints the JIT flow as numbered, copy-pasteable lines:
// a request, a review, a call with the grant, a revocation, a refused call.
func printWalkthrough(p func(string, ...any), info serveInfo, f *serveFlags, pol *policy.Policy, cfg stack.Config, grpcurlTLS string) {
	read := "/demo.v1.Vault/Read"
	// The reviewer's group is one the policy lets approve the walkthrough's request.
	group, note := "security", ""
	if pol != nil {
		rule, err := pol.Match(cfg.Audience, []string{read}, walkResource)
		switch {
		case err != nil:
			group, note = "APPROVER-GROUP", fmt.Sprintf("%s has no rule for %s on %s: adapt --scope and --resource to one of its rules", f.policyFile, read, walkResource)
		case len(rule.Approvers) == 0:
			group, note = "APPROVER-GROUP", fmt.Sprintf("rule %s of %s has no approvers: only its auto_approve decides", rule.Name, f.policyFile)
		default:
			group = rule.Approvers[0]
		}
	}
	// Flags the lines need when serve does not run on the development defaults.
	// The Vault's methods are /demo.v1.Vault/...; a service named otherwise
	// (--aud) is asked for them by full name.
	var idFlags, mintFlags, svcFlag string
	scope := "Read"
	if f.kf.identityKeys != "" {
		idFlags += " --identity-keys " + shellQuote(f.kf.identityKeys)
	}
	if f.kf.identityIss != token.DevIdentityIssuer {
		idFlags += " --identity-issuer " + shellQuote(f.kf.identityIss)
	}
	mintFlags = idFlags
	if cfg.Audience != token.DevAudience {
		svcFlag = " --service " + shellQuote(cfg.Audience)
		scope = read
		mintFlags += " --aud " + shellQuote(cfg.Audience)
	}
	b := "jitbench access %s --as %s" + idFlags
	if info.BrokerAddr != defaultBrokerAddr {
		b = "jitbench access %s --broker " + info.BrokerAddr + " --as %s" + idFlags
	}
	as := func(verb, who string) string { return fmt.Sprintf(b, verb, who) }
	reviewer := func(verb string) string { return as(verb, walkReviewer) + " --group " + shellQuote(group) }
	call := func(comment string) string {
		return fmt.Sprintf(`grpcurl %s -H "authorization: Bearer $ID" -H "x-jit-grant: $GRANT" -d '{"path":"secrets/db/password"}' %s demo.v1.Vault/Read   # %s`, grpcurlTLS, info.Addr, comment)
	}

	p("The JIT flow by hand (the access commands sign a development identity for whom --as and --group name):")
	if note != "" {
		p("  (%s)", note)
	}
	if f.autoApprove > 0 {
		p("  1. %s requests Read on %s, which the policy approves after %s (--auto-approve):", walkRequester, walkResource, f.autoApprove)
		p(`       REQ=$(%s%s --scope %s --resource '%s' --justification 'rotate the db password' --wait 1m --id-only)`, as("request", walkRequester), svcFlag, scope, walkResource)
		p("  2. (no reviewer needed: skip to 3)")
	} else {
		p("  1. %s requests Read on %s; the request waits for a reviewer:", walkRequester, walkResource)
		p(`       REQ=$(%s%s --scope %s --resource '%s' --justification 'rotate the db password' --id-only)`, as("request", walkRequester), svcFlag, scope, walkResource)
		p("  2. %s (group %s) lists pending requests and approves %s's:", walkReviewer, group, walkRequester)
		p("       %s --state pending", reviewer("list"))
		p(`       %s "$REQ" --comment 'on call'`, reviewer("approve"))
	}
	p("  3. %s gets her grant and calls the Vault with it:", walkRequester)
	if info.Subject != walkRequester {
		p("       ID=$(jitbench token mint --kind identity --sub %s --ttl 1h%s)", walkRequester, mintFlags)
	}
	p(`       GRANT=$(%s "$REQ" --grant-only)`, as("show", walkRequester))
	p("       %s", call("OK"))
	p("  4. %s revokes the grant:", walkReviewer)
	p(`       %s "$REQ" --comment 'done'`, reviewer("revoke"))
	p("  5. %s's next call is refused once the revocation reaches the Vault (at once, on loopback):", walkRequester)
	p("       %s", call("PermissionDenied, GRANT_REVOKED"))
	p("  Follow a request as it changes:  %s \"$REQ\"", as("watch", walkRequester))
	p("  Deny, or withdraw your own:      jitbench access deny ... / jitbench access withdraw ...")
	if f.dataDir != "" {
		p("  Audit log, once serve stopped:   jitbench audit export --data-dir %s", shellQuote(f.dataDir))
	}
}

// shortDuration spells d without trailing zero units: 1h, 15m, 1h30m, 50ms.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orDefault(algs []string) []string {
	if len(algs) == 0 {
		return token.DefaultAlgorithms()
	}
	return algs
}

func orLeeway(d time.Duration) time.Duration {
	if d == 0 {
		return token.DefaultLeeway
	}
	return d
}
