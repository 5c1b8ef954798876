// Package pyledger runs ledger.py, a payments-ledger gRPC service written in
// Python (grpcio and PyJWT, no generated stubs) in conventions of its own:
// jitbench's external scenarios run against it, as against a service whose
// authors never read jitbench. It starts the service in a process of its
// own with fresh keys and writes the target config a user would write for it.
package pyledger

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jitbench/jitbench/reference/token"
)

//go:embed ledger.py
var script []byte

// The service's methods and the names ledger.py documents.
const (
	// Service is the gRPC service's full name.
	Service = "ledger.v2.Ledger"
	// MethodGetBalance is the protected unary method; it needs PermBalance.
	MethodGetBalance = "/" + Service + "/GetBalance"
	// MethodStreamEntries is the protected server-streaming method; it needs PermEntries.
	MethodStreamEntries = "/" + Service + "/StreamEntries"
	// MethodPing is the unprotected control method.
	MethodPing = "/" + Service + "/Ping"
	// PermBalance is the perms entry GetBalance needs.
	PermBalance = "ledger:balance:read"
	// PermEntries is the perms entry StreamEntries needs.
	PermEntries = "ledger:entries:read"
	// PermsClaim is the claim holding the token's permissions, a list of strings.
	PermsClaim = "perms"
	// TokenHeader is the metadata key carrying the one token, bare.
	TokenHeader = "x-ledger-token"
	// Audience is the aud the service requires.
	Audience = Service
	// Issuer is the iss the service requires.
	Issuer = "https://auth.ledger.test"
	// Balance is what GetBalance answers, as field 1 of its reply.
	Balance = 4200
)

// Entries are the entry ids StreamEntries sends, one message each (field 1).
var Entries = []int64{101, 102, 103}

// Defaults for Options.
const (
	// DefaultLeeway is the service's clock tolerance unless Options say otherwise.
	DefaultLeeway = 20 * time.Second
	// DefaultMaxLifetime is the longest exp − iat the service accepts unless Options say otherwise.
	DefaultMaxLifetime = 15 * time.Minute
)

// stopTimeout is how long Stop waits for the service to end before killing it.
const stopTimeout = 10 * time.Second

// Options choose how the service starts.
type Options struct {
	// Python is the interpreter; empty finds one with Interpreter.
	Python string
	// Leeway is the clock tolerance it is started with, whole seconds; zero means DefaultLeeway.
	Leeway time.Duration
	// MaxLifetime is the longest exp − iat it accepts, whole seconds; zero means DefaultMaxLifetime.
	MaxLifetime time.Duration
}

// Process is the service running in a process of its own.
type Process struct {
	// Addr is the gRPC host:port.
	Addr string
	// RevokeURL is the base URL of its revocation endpoint (POST /tokens/<jti>/revoke).
	RevokeURL string
	// Dir holds the script, keys, empty payload and target config; Stop removes it.
	Dir string
	// Leeway and MaxLifetime are what the service was started with.
	Leeway, MaxLifetime time.Duration
	// Key is the token issuer's ES256 key pair: the service holds its public half.
	Key *token.Key

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *cappedBuffer
	exited chan struct{}
	err    error // the process's exit, once exited is closed
	stop   sync.Once
}

// started is the JSON line ledger.py prints once it serves.
type started struct {
	Addr      string `json:"addr"`
	RevokeURL string `json:"revoke_url"`
}

// Start writes ledger.py and a fresh issuer key to a new temporary
// directory, runs the service and waits, within ctx, until it serves. The
// process outlives ctx: end it with Stop.
func Start(ctx context.Context, o Options) (*Process, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pyledger-")
	if err != nil {
		return nil, fmt.Errorf("pyledger: directory: %w", err)
	}
	p, err := start(ctx, o, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// defaults fills o's zero fields and checks the rest.
func (o *Options) defaults() error {
	if o.Leeway == 0 {
		o.Leeway = DefaultLeeway
	}
	if o.MaxLifetime == 0 {
		o.MaxLifetime = DefaultMaxLifetime
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Options.Leeway", o.Leeway}, {"Options.MaxLifetime", o.MaxLifetime}} {
		if d.v < 0 || d.v%time.Second != 0 {
			return fmt.Errorf("pyledger: %s %v: want a positive whole number of seconds", d.name, d.v)
		}
	}
	if o.Python == "" {
		py, err := Interpreter()
		if err != nil {
			return err
		}
		o.Python = py
	}
	return nil
}

func start(ctx context.Context, o Options, dir string) (*Process, error) {
	key, err := writeIssuerKey(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "ledger.py")
	if err := os.WriteFile(path, script, 0o600); err != nil {
		return nil, fmt.Errorf("pyledger: write ledger.py: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, emptyPayloadFile), nil, 0o600); err != nil {
		return nil, fmt.Errorf("pyledger: write %s: %w", emptyPayloadFile, err)
	}
	cmd := exec.Command(o.Python, path,
		"--public-key", filepath.Join(dir, publicKeyFile),
		"--audience", Audience, "--issuer", Issuer,
		"--leeway", seconds(o.Leeway), "--max-lifetime", seconds(o.MaxLifetime),
		"--listen", "127.0.0.1:0", "--revoke-listen", "127.0.0.1:0")
	cmd.Dir = dir
	p := &Process{
		Dir: dir, Leeway: o.Leeway, MaxLifetime: o.MaxLifetime, Key: key,
		cmd: cmd, stderr: &cappedBuffer{}, exited: make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pyledger: stdout: %w", err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("pyledger: stdin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pyledger: start %s: %w", o.Python, err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, stdout) // Wait needs the pipe read to EOF
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case line := <-lines:
		var s started
		if err := json.Unmarshal([]byte(line), &s); err != nil || s.Addr == "" || s.RevokeURL == "" {
			_ = p.end()
			return nil, fmt.Errorf("pyledger: the service did not start (first line %q): %s", strings.TrimSpace(line), p.stderrText())
		}
		p.Addr, p.RevokeURL = s.Addr, s.RevokeURL
		return p, nil
	case <-ctx.Done():
		_ = p.end()
		return nil, fmt.Errorf("pyledger: waiting for the service: %w: %s", ctx.Err(), p.stderrText())
	}
}

// seconds writes d as the whole seconds ledger.py's flags take.
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// Stop ends the service (stdin closed, then SIGTERM; killed after 10 s),
// waits for it and removes its directory. It returns the process's own
// failure, with its stderr.
func (p *Process) Stop() error {
	err := p.end()
	return errors.Join(err, os.RemoveAll(p.Dir))
}

// end stops the process once and reports how it ended.
func (p *Process) end() error {
	p.stop.Do(func() {
		_ = p.stdin.Close() // the service stops when its stdin closes
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	var exit *exec.ExitError
	if errors.As(p.err, &exit) && !exit.Exited() { // ended by a signal before its handler was set
		return nil
	}
	if p.err != nil {
		return fmt.Errorf("pyledger: the service: %w: %s", p.err, p.stderrText())
	}
	return nil
}

// stderrText is the service's stderr so far, on one line.
func (p *Process) stderrText() string {
	return strings.Join(strings.Fields(p.stderr.String()), " ")
}

// cappedBuffer keeps the first 64 KiB written to it, safe for a writer and a reader.
type cappedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
