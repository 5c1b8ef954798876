package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/harness/containers"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
)

// conformanceFlags are the conformance command's settings.
type conformanceFlags struct {
	config, knownFailing      string
	run, skip                 []string
	junit, markdown, out      string
	asJSON, example, listCase bool
	image                     imageFlags
}

func newConformanceCmd() *cobra.Command {
	var f conformanceFlags
	c := &cobra.Command{
		Use:   "conformance --config target.yaml [flags]",
		Short: "Check that a JIT-protected gRPC service answers every credential fault with the right status",
		Long: `Run the conformance catalog against a JIT-protected gRPC service: 49 cases
(forged, expired, out-of-scope, look-alike and replayed tokens, alg none,
HS256 signed with a public key, claim-name tricks, kid injection, missing
identities, revoked grants, short deadlines, broker, key source and network
outages) that each expect a gRPC status under the target's profile
(two-token: identity + JIT grant; single-token: one JWT).

Every token the suite sends is rendered from the target's own claim
template (a preset such as scope.methods, methods, scope-string, scp,
permissions or roles, or any JSON shape with placeholders), and a negative
case changes exactly one thing in it. OK-001, the valid call, runs first:
when it is refused the run stops and says which part of the config most
likely does not match the target.

Every case is also held to the catalog's rules: a negative case never
returns OK; a credential fault never answers UNKNOWN or INTERNAL;
PERMISSION_DENIED only follows a verified identity; no token is echoed in
the status, its details or its metadata; every call ends within a bound
(1 s for a 64 KiB token); nothing a token points at is fetched. A case
fails with the first rule it broke.

The target config (YAML, read strictly: errors name file:line:col) gives
the address, TLS, a protected method and its request, the headers and
claim templates of the credentials, the test keys of the issuers the
service trusts (JWKS, JWK, PEM, DER or an HMAC secret), its audience,
leeway and pinned algorithms, and the capabilities it promises (a size
limit, a required kid, a checked typ, a maximum lifetime, one-shot grants,
resource scope, a stream method, revocation through a broker or a hook, a
key source the suite serves). A case whose capability is not declared is
skipped with the reason, never failed; 'jitbench conformance init' writes
one from the service's reflection and a sample token, --example-config
prints a commented config for 'jitbench serve', and docs/conformance.md
describes every key.

A known-failing list (one case id per line, # comments) turns a listed
failing case into "known failing"; a listed case that passes fails the run
until it is removed from the list.

--image runs the target from a container image instead: the image (present
locally: nothing is pulled) is started with its port (--port, default the
port of the config's address) published on the host's loopback, and the
port of a broker the config names on loopback too; the suite waits until
it answers gRPC, runs against the published addresses in place of the
config's (it says so on stderr), and removes the container afterwards, also
when the suite fails or is interrupted (Ctrl-C). --image-entrypoint,
--image-arg and --image-env change how the container starts. Docker must
answer; testcontainers' Ryuk reaper is not used.

Exit codes: 0 every selected case passed (skips allowed); 1 a case failed,
the control OK-001 was refused, no case that expects a refusal ran
("nothing was checked"), or the run was interrupted; 2 bad flags, config or
list, a target that cannot be reached (an image that is missing, will not
start or never answers), or a case the harness could not stage (a broker
that does not approve, a hook that fails).`,
		Example: `  jitbench conformance init --address 127.0.0.1:8443 --sample-token @token.jwt --keys signer.jwks.json -o target.yaml
  jitbench conformance --example-config > target.yaml
  jitbench serve &        # the reference, on 127.0.0.1:7443 and :7444
  jitbench conformance --config target.yaml
  jitbench conformance --config target.yaml --run 'ALG-*' --run 'KEY-*'
  jitbench conformance --config target.yaml --skip 'DL-*' --known-failing known-failing.txt
  jitbench conformance --config target.yaml --junit conformance.xml --markdown "$GITHUB_STEP_SUMMARY" -o conformance.json
  jitbench conformance --image my-service:1.4 --config target.yaml                  # port: the config address's
  jitbench conformance --image my-service:1.4 --port 8443 --image-env LOG_LEVEL=debug --config target.yaml
  jitbench conformance --image jitbench-worker:dev --image-entrypoint /jitbench \
    --image-arg serve --image-arg --addr=0.0.0.0:7443 --config target.yaml       # 'jitbench serve' in a container
  jitbench conformance --list`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConformance(cmd, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.config, "config", "", "the target config file (YAML; --example-config prints one)")
	fl.StringArrayVar(&f.run, "run", nil, "run only the cases whose id matches this glob, e.g. 'ALG-*' (repeatable)")
	fl.StringArrayVar(&f.skip, "skip", nil, "leave out the cases whose id matches this glob (repeatable)")
	fl.StringVar(&f.knownFailing, "known-failing", "", "file of case ids the target is known to fail, one per line, # comments")
	fl.StringVar(&f.junit, "junit", "", "also write the result as JUnit XML to this file")
	fl.StringVar(&f.markdown, "markdown", "", "also write the result as Markdown to this file (e.g. $GITHUB_STEP_SUMMARY)")
	fl.StringVarP(&f.out, "output", "o", "", "also write the result as JSON to this file")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON instead of the table")
	fl.BoolVar(&f.example, "example-config", false, "print a commented example target config (for 'jitbench serve') and exit")
	fl.BoolVar(&f.listCase, "list", false, "print the catalog: ids, expected codes per profile, needs, faults")
	f.image.register(c)
	c.AddCommand(newConformanceInitCmd())
	return c
}

func runConformance(cmd *cobra.Command, f *conformanceFlags) (retErr error) {
	out := cmd.OutOrStdout()
	switch {
	case f.example:
		_, err := out.Write(conformance.ExampleConfig())
		return err
	case f.listCase:
		return listCatalog(out)
	case f.config == "":
		return usagef("--config is required: the target's config file ('jitbench conformance --example-config' prints one)")
	}
	cfg, err := loadTargetConfig("--config", f.config)
	if err != nil {
		return err
	}
	opts := conformance.Options{Run: f.run, Skip: f.skip, Version: moduleVersion()}
	if f.knownFailing != "" {
		if opts.KnownFailing, err = conformance.LoadKnownFailing(f.knownFailing); err != nil {
			return usagef("--known-failing: %v", err)
		}
	}
	if err := f.image.check(cmd, cfg.Address); err != nil {
		return err
	}
	if served, ok := cfg.KeySource.(*conformance.ServedKeys); ok {
		// Up before any container starts, which may read its keys at once.
		if err := served.Start(); err != nil {
			return usageErr(err)
		}
		defer served.Close()
		fmt.Fprintf(cmd.ErrOrStderr(), "jitbench: serving the grant keys at %s\n", served.URL())
	}
	ctx := cmd.Context()
	if f.image.name != "" {
		var (
			stop   context.CancelFunc
			remove func() error
		)
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		if remove, err = f.image.start(ctx, cfg, cmd.ErrOrStderr()); err != nil {
			return err
		}
		defer func() {
			if rmErr := remove(); rmErr != nil && retErr == nil {
				retErr = failed(rmErr)
			}
		}()
	}
	res, err := conformance.RunSuite(ctx, cfg, opts)
	switch {
	case ctx.Err() != nil:
		return failed(fmt.Errorf("interrupted: %w", context.Cause(ctx)))
	case errors.Is(err, conformance.ErrSelection):
		return usageErr(err)
	case err != nil && res == nil:
		return usagef("%s: %v", f.config, err)
	}
	if rerr := writeConformance(cmd, f, res); rerr != nil {
		return rerr
	}
	switch {
	case errors.Is(err, conformance.ErrUnreachable), errors.Is(err, conformance.ErrSetup):
		return usageErr(err) // the harness or the target's address, not a verdict: exit 2
	case err != nil:
		return failed(err) // the control failed, or nothing was checked: exit 1
	case res.Failed():
		return errFailed
	}
	return nil
}

// writeConformance prints the result and writes the files the flags ask for.
func writeConformance(cmd *cobra.Command, f *conformanceFlags, res *reports.ConformanceResult) error {
	out := cmd.OutOrStdout()
	format := "text"
	if f.asJSON {
		format = "json"
	}
	if err := reports.RenderConformance(out, res, format); err != nil {
		return err
	}
	for _, file := range []struct{ flag, path, format string }{
		{"--junit", f.junit, "junit"}, {"--markdown", f.markdown, "md"}, {"--output", f.out, "json"},
	} {
		if file.path == "" {
			continue
		}
		if err := renderFile(file.path, func(w io.Writer) error { return reports.RenderConformance(w, res, file.format) }); err != nil {
			return usagef("%s: %v", file.flag, err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "jitbench: wrote %s\n", file.path)
	}
	return nil
}

// listCatalog prints every case: id, the code of each profile, the codes allowed instead, needs and fault.
func listCatalog(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTWO-TOKEN\tSINGLE-TOKEN\tALSO\tNEEDS\tFAULT")
	for _, c := range conformance.Catalog() {
		also := make([]string, len(c.Also))
		for i, a := range c.Also {
			also[i] = reason.CodeName(a)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, wantName(c.TwoToken), wantName(c.SingleToken),
			orDash(strings.Join(also, ",")), orDash(string(c.Needs)), c.Fault)
	}
	return tw.Flush()
}

func wantName(w conformance.Want) string {
	if w.NotApplicable {
		return "n/a"
	}
	return reason.CodeName(w.Code)
}

// imageFlags are conformance's --image settings: the target runs from a
// container image for the length of the suite.
type imageFlags struct {
	name, entrypoint string
	port             int
	args, env        []string
}

// imageStartTimeout bounds the target container's start, until it answers gRPC.
const imageStartTimeout = 2 * time.Minute

func (f *imageFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.name, "image", "", "run the target from this local container image (nothing is pulled) and remove it afterwards")
	fl.IntVar(&f.port, "port", 0, "with --image, the port the service listens on in the container (default: the port of the config's address)")
	fl.StringVar(&f.entrypoint, "image-entrypoint", "", "with --image, replace the image's entrypoint with this executable")
	fl.StringArrayVar(&f.args, "image-arg", nil, "with --image, an argument replacing the image's command (repeatable, in order)")
	fl.StringArrayVar(&f.env, "image-env", nil, "with --image, KEY=VALUE set in the container's environment (repeatable)")
}

// check refuses --image-* flags without --image, a bad --port or
// --image-env, and fills the port from the config's address when unset.
func (f *imageFlags) check(cmd *cobra.Command, address string) error {
	if f.name == "" {
		for _, name := range []string{"port", "image-entrypoint", "image-arg", "image-env"} {
			if cmd.Flags().Changed(name) {
				return usagef("--%s goes with --image: it configures the target's container", name)
			}
		}
		return nil
	}
	if !cmd.Flags().Changed("port") {
		_, port, err := net.SplitHostPort(address)
		if f.port, _ = strconv.Atoi(port); err != nil || f.port <= 0 {
			return usagef("--port: the config's address %q names no port: say which port the service listens on in the container", address)
		}
	}
	if f.port <= 0 || f.port > 65535 {
		return usagef("--port: want a port in 1..65535, got %d", f.port)
	}
	for _, kv := range f.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usagef("--image-env: want KEY=VALUE, got %q", kv)
		}
	}
	return nil
}

// start runs the image, waits until it answers gRPC, points cfg at it and
// says so on w. The returned func removes the container; it must be called
// whatever happens next, and works after ctx ended.
func (f *imageFlags) start(ctx context.Context, cfg *conformance.Config, w io.Writer) (remove func() error, err error) {
	containers.DisableRyuk()
	opts := containers.ImageOptions{Image: f.name, Port: f.port, Args: f.args, StartTimeout: imageStartTimeout}
	if f.entrypoint != "" {
		opts.Entrypoint = []string{f.entrypoint}
	}
	if len(f.env) > 0 {
		opts.Env = map[string]string{}
		for _, kv := range f.env {
			k, v, _ := strings.Cut(kv, "=")
			opts.Env[k] = v
		}
	}
	// A broker the config names on loopback runs in the container too
	// (the host's own port may be anyone's): it is published as well.
	brokerPort := 0
	if b := cfg.Broker; b != nil {
		if host, port, err := net.SplitHostPort(b.Address); err == nil && isLoopback(host) {
			if brokerPort, _ = strconv.Atoi(port); brokerPort > 0 && brokerPort != f.port {
				opts.ExtraPorts = []int{brokerPort}
			}
		}
	}
	ctr, err := containers.StartImage(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, failed(fmt.Errorf("interrupted while starting --image %s: %w", f.name, err))
		}
		return nil, usagef("--image %s: %v", f.name, err)
	}
	fmt.Fprintf(w, "jitbench: started %s as container %s (run %s), port %d published on %s: the suite calls %s instead of the config's address %s\n",
		f.name, shortID(ctr.ID), ctr.RunID, f.port, ctr.Addr, ctr.Addr, cfg.Address)
	cfg.Address = ctr.Addr
	if addr := ctr.Extra[brokerPort]; addr != "" {
		fmt.Fprintf(w, "jitbench: broker port %d published on %s: the suite calls %s instead of the config's broker address %s\n",
			brokerPort, addr, addr, cfg.Broker.Address)
		cfg.Broker.Address = addr
	}
	return func() error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := ctr.Close(ctx); err != nil {
			return fmt.Errorf("remove container %s of %s: %w", shortID(ctr.ID), f.name, err)
		}
		fmt.Fprintf(w, "jitbench: removed container %s\n", shortID(ctr.ID))
		return nil
	}, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// shortID is a container id as docker ps shows it.
func shortID(id string) string { return id[:min(12, len(id))] }
