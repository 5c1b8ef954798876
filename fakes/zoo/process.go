package zoo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ChildEnv, set to 1, makes MainIfChild run a zoo target instead of returning.
const ChildEnv = "JITBENCH_ZOO_TARGET"

// Started is the line Main prints once its service listens.
type Started struct {
	Addr    string `json:"addr"`
	Kind    Kind   `json:"kind"`
	Bug     string `json:"bug"`
	JWKSURL string `json:"jwks_url,omitempty"`
	// AdminURL is the admin API's base URL (Target.AdminURL), for a member with one.
	AdminURL string `json:"admin_url,omitempty"`
	// TargetConfig is the jitbench target config written for it (--target-config).
	TargetConfig string `json:"target_config,omitempty"`
}

// Main runs one zoo target until ctx ends: flags --kind, --bug, --listen,
// --keys-dir, --jwks-url (oauth-scope's key set; scp-array's grant keys,
// instead of its PEM directory), --jwks-max-age (oauth-scope),
// --jwks-refresh (scp-array: Options.JWKSRefresh), --now (a fixed clock,
// RFC 3339), --revocation-delay (Options.RevocationDelay; 0 is at once,
// unset the member's own), --generate-keys (fresh keys into --keys-dir, and
// for oauth-scope without --jwks-url a JWKS server of them) and
// --target-config (a jitbench target config for it, KEYS-DIR/target.yaml,
// once it serves, with the revoke url of a member that has one and, for a
// service reading its keys from --jwks-url, a key_source serving them
// there). Once serving it prints one JSON line, Started, on stdout. It
// returns the exit code: 2 for bad usage, 1 when the service cannot start.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zoo-target", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kindName := fs.String("kind", "", "the zoo member: methods-list, oauth-scope, scp-array or bearer-grant")
	bugName := fs.String("bug", "none", "the build's one bug, or none")
	listen := fs.String("listen", "127.0.0.1:0", "the address to serve on")
	keysDir := fs.String("keys-dir", "", "the directory of the member's keys (written by --generate-keys or zoo.GenerateKeys)")
	jwksURL := fs.String("jwks-url", "", "oauth-scope: the URL of the key set; scp-array: read the grant keys from this JWKS instead of the PEM directory")
	jwksMaxAge := fs.Duration("jwks-max-age", jwksMaxAge, "oauth-scope: how long a fetched key set is used")
	jwksRefresh := fs.Duration("jwks-refresh", filesJWKSRefresh, "scp-array with --jwks-url: how often the key set is fetched again in the background")
	now := fs.String("now", "", "a fixed clock, RFC 3339 (default: the real clock)")
	var revocationDelay optionalDuration
	fs.Var(&revocationDelay, "revocation-delay", "bearer-grant, scp-array: how long a revocation takes to reach the verifier, 0 for at once (default: the member's own)")
	generate := fs.Bool("generate-keys", false, "write fresh keys to --keys-dir first")
	targetConfig := fs.Bool("target-config", false, "write a jitbench target config for this service (with its revoke url, where it has one, and a key_source serving --jwks-url, where it reads its keys from one) to KEYS-DIR/target.yaml once it serves (oauth-scope: only with --jwks-url)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(format string, a ...any) int {
		_, _ = fmt.Fprintf(stderr, "zoo-target: "+format+"\n", a...)
		return 2
	}
	kind, err := ParseKind(*kindName)
	if err != nil {
		return usage("--kind: %v", err)
	}
	bug, err := ParseBug(kind, *bugName)
	if err != nil {
		return usage("--bug: %v", err)
	}
	if *keysDir == "" {
		return usage("--keys-dir is required")
	}
	if *targetConfig && kind == OAuthScope && *jwksURL == "" {
		return usage("--target-config: oauth-scope reads its keys from a JWKS the target config's key_source serves: give --jwks-url, where jitbench is to serve them")
	}
	if *jwksRefresh <= 0 {
		return usage("--jwks-refresh: must be positive")
	}
	opts := Options{KeysDir: *keysDir, JWKSURL: *jwksURL, JWKSMaxAge: *jwksMaxAge, JWKSRefresh: *jwksRefresh, Listen: *listen}
	switch {
	case !revocationDelay.set:
	case revocationDelay.d < 0:
		return usage("--revocation-delay: must not be negative")
	case revocationDelay.d == 0:
		opts.RevocationDelay = ImmediateRevocation
	default:
		opts.RevocationDelay = revocationDelay.d
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return usage("--now: want RFC 3339, like 2026-01-02T15:04:05Z")
		}
		opts.Clock = func() time.Time { return t }
	}
	fail := func(err error) int {
		_, _ = fmt.Fprintf(stderr, "zoo-target: %v\n", err)
		return 1
	}
	if *generate {
		m, err := GenerateKeys(kind, *keysDir)
		if err != nil {
			return fail(err)
		}
		if m.JWKS != nil && opts.JWKSURL == "" {
			srv, err := NewJWKSServer(*m.JWKS)
			if err != nil {
				return fail(err)
			}
			defer func() { _ = srv.Close() }() // the process is ending
			opts.JWKSURL = srv.URL
		}
	}
	t, err := Start(kind, bug, opts)
	if err != nil {
		return fail(err)
	}
	defer t.Stop()
	started := Started{Addr: t.Addr, Kind: kind, Bug: bug.String(), JWKSURL: opts.JWKSURL, AdminURL: t.AdminURL}
	if *targetConfig {
		if started.TargetConfig, err = WriteTargetConfigFor(kind, *keysDir, t.Info()); err != nil {
			return fail(err)
		}
	}
	line, err := json.Marshal(started)
	if err != nil {
		return fail(err)
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return fail(err)
	}
	<-ctx.Done()
	return 0
}

// MainIfChild runs Main and exits when ChildEnv is 1, and returns otherwise:
// call it first in a TestMain so StartProcess can start the test binary
// itself as a target. The child stops on SIGINT, SIGTERM or when its stdin
// closes (its parent went away).
func MainIfChild() {
	if os.Getenv(ChildEnv) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// ProcessOptions describe a zoo target to run in a process of its own.
type ProcessOptions struct {
	// Executable runs the target: a built fakes/zoo/cmd/zoo-target, or empty
	// for the running test binary (whose TestMain calls MainIfChild).
	Executable string
	// Kind, Bug, KeysDir, JWKSURL, JWKSMaxAge and JWKSRefresh are as for Start.
	Kind        Kind
	Bug         Bug
	KeysDir     string
	JWKSURL     string
	JWKSMaxAge  time.Duration
	JWKSRefresh time.Duration
	// Now fixes the target's clock; zero keeps the real one.
	Now time.Time
	// RevocationDelay is as for Start: zero is the member's own,
	// ImmediateRevocation (any negative) none.
	RevocationDelay time.Duration
}

// Process is a zoo target running in a process of its own.
type Process struct {
	// Addr is the host:port it serves on.
	Addr string
	// AdminURL is its admin API's base URL, empty for a member without one.
	AdminURL string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	exited chan struct{}
	err    error // the process's exit, once exited is closed
	stop   sync.Once
}

// StartProcess starts the target and waits, within ctx, until it serves.
func StartProcess(ctx context.Context, o ProcessOptions) (*Process, error) {
	exe := o.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("zoo: the test binary: %w", err)
		}
	}
	args := []string{"--kind", string(o.Kind), "--bug", o.Bug.String(), "--keys-dir", o.KeysDir}
	if o.JWKSURL != "" {
		args = append(args, "--jwks-url", o.JWKSURL)
	}
	if o.JWKSMaxAge > 0 {
		args = append(args, "--jwks-max-age", o.JWKSMaxAge.String())
	}
	if o.JWKSRefresh > 0 {
		args = append(args, "--jwks-refresh", o.JWKSRefresh.String())
	}
	if !o.Now.IsZero() {
		args = append(args, "--now", o.Now.UTC().Format(time.RFC3339))
	}
	switch {
	case o.RevocationDelay < 0:
		args = append(args, "--revocation-delay", "0s")
	case o.RevocationDelay > 0:
		args = append(args, "--revocation-delay", o.RevocationDelay.String())
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	p := &Process{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("zoo: target stdout: %w", err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("zoo: target stdin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("zoo: start the target: %w", err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, stdout) // keep the pipe drained; Wait needs it read to EOF
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case line := <-lines:
		var s Started
		if err := json.Unmarshal([]byte(line), &s); err != nil || s.Addr == "" {
			_ = p.Stop()
			return nil, fmt.Errorf("zoo: the target did not start: %s", p.stderrText())
		}
		p.Addr, p.AdminURL = s.Addr, s.AdminURL
		return p, nil
	case <-ctx.Done():
		_ = p.Stop()
		return nil, fmt.Errorf("zoo: waiting for the target: %w", ctx.Err())
	}
}

// Stop ends the process (stdin closed, then SIGINT) and waits for it.
func (p *Process) Stop() error {
	p.stop.Do(func() {
		_ = p.stdin.Close() // the child stops when its stdin closes
		_ = p.cmd.Process.Signal(os.Interrupt)
		<-p.exited
	})
	var exit *exec.ExitError
	if errors.As(p.err, &exit) && !exit.Exited() { // ended by the signal
		return nil
	}
	if p.err != nil {
		return fmt.Errorf("zoo: target: %w: %s", p.err, p.stderrText())
	}
	return nil
}

// stderrText is the process's stderr so far, on one line.
func (p *Process) stderrText() string {
	return strings.Join(strings.Fields(p.stderr.String()), " ")
}

// HandlerCalls asks the target at conn how often its protected handlers ran.
func HandlerCalls(ctx context.Context, conn grpc.ClientConnInterface) (int64, error) {
	out := &wrapperspb.Int64Value{}
	if err := conn.Invoke(ctx, ProbeHandlerCalls, &emptypb.Empty{}, out); err != nil {
		return 0, fmt.Errorf("zoo: handler calls: %w", err)
	}
	return out.GetValue(), nil
}

// optionalDuration is a duration flag that knows whether it was given.
type optionalDuration struct {
	d   time.Duration
	set bool
}

func (o *optionalDuration) String() string {
	if o == nil || !o.set {
		return ""
	}
	return o.d.String()
}

func (o *optionalDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	o.d, o.set = d, true
	return nil
}

// lockedBuffer is a bytes.Buffer safe for the process's writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil // enough to say why it failed
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
