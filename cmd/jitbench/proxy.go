package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/fakes/proxy"
	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/devtls"
)

// proxyFlags are proxy's settings.
type proxyFlags struct {
	listen, upstream, mode, control string
	upstreamTLS                     bool
	upstreamCA, upstreamName        string
	upstreamCert, upstreamKey       string
	useTLS                          bool
	tlsDir, tlsCert, tlsKey         string
	faults                          []string
	faultsFile                      string
	headerFaults, logFaults, asJSON bool
	seed                            uint64
	connectTimeout                  time.Duration
}

// proxyInfo is what proxy prints for people and, with --json, for machines.
type proxyInfo struct {
	Mode     string       `json:"mode"`
	Listen   string       `json:"listen"`
	Upstream string       `json:"upstream"`
	Control  string       `json:"control,omitempty"`
	Seed     uint64       `json:"seed"`
	TLS      bool         `json:"tls"`
	TLSDir   string       `json:"tls_dir,omitempty"`
	Faults   []proxy.Spec `json:"faults"`
}

// proxyGrace is how long calls under way may run on after a stop was asked for.
const proxyGrace = 5 * time.Second

func newProxyCmd() *cobra.Command {
	var f proxyFlags
	c := &cobra.Command{
		Use:   "proxy --upstream HOST:PORT [--listen ADDR] [--fault SPEC]... [flags]",
		Short: "Run a gRPC-aware fault proxy in front of any gRPC service (or an HTTP key source)",
		Long: `Run an in-path fault proxy: client → proxy → service, or service → proxy →
its key source, identity provider or broker. In --mode grpc (the default)
every method of every service is forwarded as raw bytes, so unary calls,
client, server and bidirectional streams, metadata, headers, trailers and
status details pass through untouched, and faults act at the gRPC level.
--mode http is a plain HTTP reverse proxy for key sources and identity
providers, with the faults that apply there.

Faults compose in the order given, each scoped to all calls or to methods
matching patterns (* is any run of characters) and drawn with a
probability from a seeded source (--seed repeats a run's draws). Switch
them live: the HTTP/JSON control API (--control) lists, adds, updates and
removes them; with --header-faults a call asks for its own fault with
Envoy-style headers (gRFC A33): x-envoy-fault-abort-grpc-request: 7,
x-envoy-fault-abort-request: 503, x-envoy-fault-abort-request-percentage,
x-envoy-fault-delay-request: 250 (ms), x-envoy-fault-delay-request-percentage.

A --fault is KIND[:KEY=VALUE,...]: the keys name (default: the kind),
methods (patterns separated by |) and p (probability, default 1) place the
fault, the others are the kind's params. Quote a value holding a comma:
message="no, not now". --faults reads a YAML file of the control API's
specs (faults: [{name, kind, methods, probability, params}]).

` + proxyKindsHelp() + `
The control API (on --control): GET /faults; POST /faults (a JSON spec:
201, 400 naming the field, 409 when the name is taken); GET, POST (update:
the keys given replace, params merge) and DELETE /faults/NAME; DELETE
/faults (all); GET /kinds; GET /metrics (Prometheus: calls, faults applied
and codes returned, per method and fault). A refused request changes
nothing. --log-faults writes a JSON line per applied fault on stderr.

At start the upstream must answer (a TCP connection, and the TLS handshake
with --upstream-tls) within --connect-timeout. Stops on Ctrl-C or SIGTERM.

Exit codes: 0 stopped cleanly, 1 the proxy failed while serving, 2 bad
usage, a fault that does not parse or an upstream that does not answer.`,
		Example: `  jitbench proxy --listen 127.0.0.1:9000 --upstream 127.0.0.1:7443 --control 127.0.0.1:9001
  jitbench proxy --upstream svc.internal:443 --upstream-tls --fault 'abort:code=PERMISSION_DENIED,methods=/pkg.S/*,p=0.5'
  jitbench proxy --upstream 127.0.0.1:7443 --fault latency:delay=200ms,jitter=50ms --fault 'metadata:header=x-jit-grant,action=drop,methods=/demo.v1.Vault/List'
  jitbench proxy --upstream 127.0.0.1:7443 --fault deadline:timeout=50ms --log-faults --seed 42
  jitbench proxy --upstream 127.0.0.1:7443 --tls --tls-dir ./proxy-tls --header-faults
  jitbench proxy --mode http --listen 127.0.0.1:9100 --upstream https://keys.internal:443 --upstream-ca ca.crt --faults faults.yaml
  curl -s -XPOST 127.0.0.1:9001/faults -d '{"name":"slow","kind":"latency","params":{"delay":"300ms"}}'
  curl -s -XPOST 127.0.0.1:9001/faults/slow -d '{"probability":0.25}'
  curl -s -XDELETE 127.0.0.1:9001/faults/slow`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProxy(cmd, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:9000", "where clients connect (port 0 picks a free port)")
	fl.StringVar(&f.upstream, "upstream", "", "the service behind the proxy: host:port (http mode: also http:// or https:// URL) (required)")
	fl.StringVar(&f.mode, "mode", "grpc", "grpc (any gRPC service) or http (a key source, identity provider: plain HTTP)")
	fl.StringVar(&f.control, "control", "", "serve the HTTP/JSON control API and /metrics on this address (default: off)")
	fl.BoolVar(&f.upstreamTLS, "upstream-tls", false, "dial the upstream over TLS, trusting the system's roots (or --upstream-ca)")
	fl.StringVar(&f.upstreamCA, "upstream-ca", "", "trust this CA certificate (PEM) for the upstream; implies --upstream-tls")
	fl.StringVar(&f.upstreamName, "upstream-server-name", "", "the name to verify the upstream's certificate against (default: its host)")
	fl.StringVar(&f.upstreamCert, "upstream-cert", "", "client certificate (PEM) to present to the upstream (mTLS); needs --upstream-key")
	fl.StringVar(&f.upstreamKey, "upstream-key", "", "the key of --upstream-cert")
	fl.BoolVar(&f.useTLS, "tls", false, "serve clients over TLS with a generated development CA (ca.crt is written to --tls-dir)")
	fl.StringVar(&f.tlsDir, "tls-dir", "", "with --tls, write ca.crt, server.crt and server.key here (default: a new temporary directory, removed on exit)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve clients over TLS with this certificate (PEM); needs --tls-key")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the key of --tls-cert")
	fl.StringArrayVar(&f.faults, "fault", nil, "a fault at start, KIND[:KEY=VALUE,...] (repeatable; applied in order)")
	fl.StringVar(&f.faultsFile, "faults", "", "a YAML file of faults at start, applied before the --fault ones")
	fl.BoolVar(&f.headerFaults, "header-faults", false, "act on Envoy-style x-envoy-fault-* request headers (and strip them)")
	fl.BoolVar(&f.logFaults, "log-faults", false, "write one JSON line per applied fault on stderr")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of every random draw (default: a random seed, printed so it can be given again)")
	fl.DurationVar(&f.connectTimeout, "connect-timeout", 5*time.Second, "how long the upstream has to answer at start")
	fl.BoolVar(&f.asJSON, "json", false, "print the addresses, seed and faults as one JSON line instead of the help text")
	return c
}

// proxyKindsHelp lists the fault kinds and their params for --help.
func proxyKindsHelp() string {
	var b strings.Builder
	b.WriteString("Fault kinds:\n")
	for _, k := range proxy.Kinds() {
		fmt.Fprintf(&b, "  %-10s %s", k.Name, k.Summary)
		if k.Protocols == proxy.GRPC {
			b.WriteString(" (grpc only)")
		}
		b.WriteString("\n")
		for _, p := range k.Params {
			fmt.Fprintf(&b, "      %s: %s\n", p.Name, p.Doc)
		}
	}
	return b.String()
}

// proxyServer is the running gRPC or HTTP proxy, whichever --mode asked for.
type proxyServer interface {
	Faults() *proxy.Faults
	Metrics() *proxy.Metrics
	Serve(net.Listener) error
	stop(grace time.Duration)
}

type grpcProxyServer struct{ *proxy.Proxy }

func (g grpcProxyServer) stop(grace time.Duration) {
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		g.Stop() // a blackholed call would wait for its deadline
	}
}

type httpProxyServer struct{ *proxy.HTTPProxy }

func (h httpProxyServer) stop(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		_ = h.Close()
	}
}

func runProxy(cmd *cobra.Command, f *proxyFlags) error {
	proto, err := f.protocol()
	if err != nil {
		return err
	}
	specs, err := f.startFaults(proto)
	if err != nil {
		return err
	}
	if f.connectTimeout <= 0 {
		return usagef("--connect-timeout must be positive, got %s", f.connectTimeout)
	}
	upTLS, err := f.upstreamTLSConfig()
	if err != nil {
		return err
	}
	var httpUp *url.URL
	checkAddr := f.upstream
	switch {
	case f.upstream == "":
		return usagef("--upstream is required: the service's host:port")
	case proto == proxy.HTTP:
		if httpUp, err = proxy.ParseHTTPUpstream(f.upstream, upTLS != nil); err != nil {
			return usagef("--upstream: %v", err)
		}
		checkAddr = httpUp.Host
		if httpUp.Scheme == "https" && upTLS == nil {
			upTLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.upstreamName}
		}
	default:
		if _, port, err := net.SplitHostPort(f.upstream); err != nil || port == "" {
			return usagef("--upstream: want host:port, got %q", f.upstream)
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if f.useTLS && f.tlsCert != "" {
		return usagef("--tls makes a development certificate; --tls-cert brings your own: give one of them")
	}
	if f.tlsDir != "" && !f.useTLS {
		return usagef("--tls-dir is where --tls writes its development CA: add --tls")
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	checkCtx, cancelCheck := context.WithTimeout(ctx, f.connectTimeout)
	alpn := []string{"h2"}
	if proto == proxy.HTTP {
		alpn = []string{"h2", "http/1.1"}
	}
	err = proxy.CheckUpstream(checkCtx, checkAddr, upTLS, alpn...)
	cancelCheck()
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while checking
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return usagef("--upstream: %s did not answer within --connect-timeout %s", checkAddr, f.connectTimeout)
		}
		return usagef("--upstream: %v", err)
	}

	lis, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usagef("--listen: %v", err)
	}
	defer lis.Close()
	var clis net.Listener
	if f.control != "" {
		if clis, err = net.Listen("tcp", f.control); err != nil {
			return usagef("--control: %v", err)
		}
		defer clis.Close()
	}
	info := proxyInfo{Mode: proto.String(), Listen: lis.Addr().String(), Upstream: f.upstream}
	if clis != nil {
		info.Control = clis.Addr().String()
	}
	serverTLS, err := f.serverTLSConfig(&info)
	if err != nil {
		return err
	}
	if info.TLS && f.useTLS && f.tlsDir == "" {
		defer os.RemoveAll(info.TLSDir) // a directory we made up is ours to remove
	}

	if !cmd.Flags().Changed("seed") {
		f.seed = rand.Uint64()
	}
	info.Seed = f.seed
	opts := proxy.Options{Seed: f.seed, HeaderFaults: f.headerFaults}
	if f.logFaults {
		opts.FaultLog = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
	}
	var srv proxyServer
	if proto == proxy.HTTP {
		p, err := proxy.NewHTTP(proxy.HTTPConfig{Options: opts, Upstream: httpUp, UpstreamTLS: upTLS, ServerTLS: serverTLS})
		if err != nil {
			return usagef("--upstream: %v", err)
		}
		srv = httpProxyServer{p}
	} else {
		p, err := proxy.New(proxy.Config{Options: opts, Upstream: f.upstream, UpstreamTLS: upTLS, ServerTLS: serverTLS})
		if err != nil {
			return usagef("--upstream: %v", err)
		}
		srv = grpcProxyServer{p}
	}
	for _, s := range specs {
		stored, err := srv.Faults().Add(s)
		if err != nil {
			return usagef("--fault %q: %v", s.String(), err) // names were checked; only a clash of names is left
		}
		info.Faults = append(info.Faults, stored)
	}

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(lis) }()
	var controlSrv *http.Server
	if clis != nil {
		controlSrv = &http.Server{Handler: proxy.ControlHandler(srv.Faults(), srv.Metrics()), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := controlSrv.Serve(clis); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("control API: %w", err)
			}
		}()
	}

	out := cmd.OutOrStdout()
	if f.asJSON {
		if info.Faults == nil {
			info.Faults = []proxy.Spec{}
		}
		if err := json.NewEncoder(out).Encode(info); err != nil {
			srv.stop(0)
			return err
		}
	} else {
		printProxyHelp(out, info, f)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
	}
	if controlSrv != nil {
		_ = controlSrv.Close()
	}
	srv.stop(proxyGrace)
	if runErr != nil {
		return failed(fmt.Errorf("proxy stopped: %w", runErr))
	}
	if !f.asJSON {
		fmt.Fprintln(out, "stopped")
	}
	return nil
}

// protocol reads --mode.
func (f *proxyFlags) protocol() (proxy.Protocol, error) {
	switch f.mode {
	case "grpc":
		return proxy.GRPC, nil
	case "http":
		return proxy.HTTP, nil
	}
	return 0, usagef("--mode: want grpc or http, got %q", f.mode)
}

// startFaults reads --faults and every --fault, checked for the protocol,
// refusing two faults of one name.
func (f *proxyFlags) startFaults(proto proxy.Protocol) ([]proxy.Spec, error) {
	var specs []proxy.Spec
	if f.faultsFile != "" {
		var err error
		if specs, err = proxy.LoadFile(f.faultsFile, proto); err != nil {
			return nil, usagef("--faults: %v", err) // a missing file, or FILE:LINE:COL: what is wrong
		}
	}
	names := map[string]bool{}
	for _, s := range specs {
		names[s.Name] = true
	}
	for _, text := range f.faults {
		s, err := proxy.ParseSpec(text)
		if err == nil {
			s, err = proxy.Check(s, proto)
		}
		if err != nil {
			return nil, usagef("--fault %q: %v", text, err)
		}
		if names[s.Name] {
			return nil, usagef("--fault %q: name: a fault named %q is already given: add name=... to tell them apart", text, s.Name)
		}
		names[s.Name] = true
		specs = append(specs, s)
	}
	return specs, nil
}

// upstreamTLSConfig builds the TLS toward the upstream, or nil for plaintext.
func (f *proxyFlags) upstreamTLSConfig() (*tls.Config, error) {
	if (f.upstreamCert == "") != (f.upstreamKey == "") {
		return nil, usagef("--upstream-cert and --upstream-key go together")
	}
	useTLS := f.upstreamTLS || f.upstreamCA != "" || f.upstreamCert != "" || strings.HasPrefix(f.upstream, "https://")
	if !useTLS {
		if f.upstreamName != "" {
			return nil, usagef("--upstream-server-name is for a TLS upstream: add --upstream-tls")
		}
		return nil, nil
	}
	// The CA is read as load's TLS does: under the certificate file's size cap.
	cfg, err := load.TLSFiles{CACert: f.upstreamCA, ServerName: f.upstreamName}.Config()
	if err != nil {
		return nil, usagef("--upstream-ca: %v", err)
	}
	if f.upstreamCert != "" {
		pair, err := tls.LoadX509KeyPair(f.upstreamCert, f.upstreamKey)
		if err != nil {
			return nil, usagef("--upstream-cert: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// serverTLSConfig builds the TLS toward clients (nil: plaintext), writing
// a development CA for --tls.
func (f *proxyFlags) serverTLSConfig(info *proxyInfo) (*tls.Config, error) {
	switch {
	case f.tlsCert != "":
		pair, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, usagef("--tls-cert: %v", err)
		}
		info.TLS = true
		return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
	case !f.useTLS:
		return nil, nil
	}
	ca, err := devtls.NewCA(24 * time.Hour)
	if err != nil {
		return nil, err
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if host, _, _ := net.SplitHostPort(info.Listen); host != "" && host != "127.0.0.1" && host != "::1" && host != "::" && host != "0.0.0.0" {
		hosts = append(hosts, host)
	}
	pair, err := ca.Server(hosts...)
	if err != nil {
		return nil, err
	}
	dir := f.tlsDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "jitbench-proxy-tls-"); err != nil {
			return nil, err
		}
	}
	if err := ca.WriteFiles(dir, map[string]*devtls.Pair{"server": pair}); err != nil {
		return nil, usagef("--tls-dir: %v", err)
	}
	if info.TLSDir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	info.TLS = true
	return ca.ServerConfig(pair), nil
}

// printProxyHelp is what proxy prints for people once it serves.
func printProxyHelp(w io.Writer, info proxyInfo, f *proxyFlags) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	front, back := "plaintext", "plaintext"
	if info.TLS {
		front = "TLS"
		if info.TLSDir != "" {
			front = "TLS, development CA " + filepath.Join(info.TLSDir, "ca.crt")
		}
	}
	if f.upstreamTLS || f.upstreamCA != "" || f.upstreamCert != "" || strings.HasPrefix(f.upstream, "https://") {
		back = "TLS"
	}
	p("jitbench proxy (%s): %s (%s) → %s (%s)", info.Mode, info.Listen, front, info.Upstream, back)
	p("  seed:          %d (--seed %d draws the same numbers again)", info.Seed, info.Seed)
	if f.headerFaults {
		p("  header faults: on (x-envoy-fault-* request headers ask for a fault; they are stripped)")
	} else {
		p("  header faults: off (--header-faults turns on x-envoy-fault-* request headers)")
	}
	if f.logFaults {
		p("  fault log:     one JSON line per applied fault on stderr")
	}
	if len(info.Faults) == 0 {
		p("  faults:        none yet: calls pass through untouched")
	} else {
		p("  faults, in the order they apply:")
		for i, s := range info.Faults {
			p("    %d. %s", i+1, s)
		}
	}
	if info.Control == "" {
		p("  control API:   off (--control 127.0.0.1:9001 serves it, and /metrics)")
	} else {
		base := "http://" + info.Control
		p("  control API:   %s/faults   metrics: %s/metrics", base, base)
		p("")
		p("Switch faults live:")
		p(`  curl -s %s/faults`, base)
		p(`  curl -s -XPOST %s/faults -d '{"name":"deny","kind":"abort","methods":["/demo.v1.Vault/*"],"probability":0.5,"params":{"code":"PERMISSION_DENIED"}}'`, base)
		p(`  curl -s -XPOST %s/faults/deny -d '{"probability":1}'`, base)
		p(`  curl -s -XDELETE %s/faults/deny`, base)
	}
	p("")
	p("Serving; Ctrl-C stops.")
}
