package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"
	"google.golang.org/protobuf/proto"

	"github.com/jitbench/jitbench/harness/load"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reports"
)

// readResultFile reads a result the CLI wrote.
func readResultFile(t *testing.T, path string) *reports.Result {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	res, err := reports.Read(f)
	require.NoError(t, err)
	return res
}

// loadRun is a 'jitbench load' running in the background.
type loadRun struct {
	code           chan int
	stdout, stderr *lockedBuffer
}

// startLoad runs 'jitbench load args' with hooks in its context: a fake
// clock drives its progress lines and approval checks.
func startLoad(ctx context.Context, hooks loadHooks, args ...string) *loadRun {
	ctx = context.WithValue(ctx, loadHooksKey{}, hooks)
	r := &loadRun{code: make(chan int, 1), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	go func() {
		r.code <- run(ctx, append([]string{"load"}, args...), strings.NewReader(""), r.stdout, r.stderr)
	}()
	return r
}

func TestLoadInProcess(t *testing.T) {
	t.Parallel()
	// The progress line's clock never moves: however slow the machine, none is due.
	lr := startLoad(t.Context(), loadHooks{clock: clockwork.NewFakeClock()}, "--target", "inprocess", "--calls", "200")
	r := result{code: <-lr.code, stdout: lr.stdout.String(), stderr: lr.stderr.String()}
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Empty(t, r.stderr, "no progress bar off a terminal, and no progress line before 5s")
	assert.Contains(t, r.stdout, "target   inprocess /demo.v1.Vault/Read")
	assert.Contains(t, r.stdout, "200 calls")
	assert.Regexp(t, `(?m)^OK\s+200\s+100\.00%$`, r.stdout)
	assert.Contains(t, r.stdout, "phase grant", "grants came through the in-process broker")
}

func TestLoadInProcessOpenLoopFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	r := runCLI(t, "", "load", "--target", "inprocess", "--rate", "200/s", "--duration", "500ms", "--warmup", "200ms",
		"--grant", "per-call", "--name", "smoke", "-o", out, "--html", html, "--format", "md")
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, "smoke", "Markdown report on stdout")
	assert.Contains(t, r.stderr, "wrote "+out)
	res := readResultFile(t, out)
	assert.Equal(t, reports.OpenLoop, res.Run.Mode)
	assert.InDelta(t, 100, res.Calls, 2, "500ms at 200/s")
	assert.InDelta(t, 40, res.Run.WarmUpCalls, 2, "200ms of warm-up at 200/s")
	assert.Equal(t, res.Calls, res.Codes["OK"])
	assert.Equal(t, res.Calls, res.Phases["grant"].Count(), "a grant per call")
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(page), "<svg")
}

// TestLoadServe loads a 'jitbench serve' on loopback, with the request
// converted from JSON through the server's reflection.
func TestLoadServe(t *testing.T) {
	t.Parallel()
	info := startServe(t, "--addr", "127.0.0.1:0", "--auto-approve", "1ms", "--json").info(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")

	t.Run("minted grants, JSON through reflection", func(t *testing.T) {
		r := runCLI(t, "", "load", "--target", info.Addr, "--method", "/demo.v1.Vault/Read", "--data", `{"path":"secrets/db/password"}`,
			"--calls", "100", "--connections", "2", "--concurrency", "4", "-o", out)
		require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		res := readResultFile(t, out)
		assert.Equal(t, map[string]int64{"OK": 100}, res.Codes)
		assert.Equal(t, info.Addr, res.Run.Target)
		assert.Equal(t, 2, res.Run.Connections)
	})
	t.Run("broker grants per call, server streaming", func(t *testing.T) {
		r := runCLI(t, "", "load", "--target", info.Addr, "--method", "demo.v1.Vault.List", "--broker", info.BrokerAddr,
			"--grant", "per-call", "--calls", "20", "--concurrency", "2")
		require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		assert.Regexp(t, `(?m)^OK\s+20\s+100\.00%$`, r.stdout)
	})
	t.Run("static tokens as headers, request from a file", func(t *testing.T) {
		req, err := proto.Marshal(&demov1.ReadRequest{Path: "secrets/db/password"})
		require.NoError(t, err)
		file := writeFile(t, filepath.Join(dir, "req.bin"), string(req))
		r := runCLI(t, "", "load", "--target", info.Addr, "--method", "/demo.v1.Vault/Read", "--data-file", file,
			"--grant", "none", "-H", "authorization: Bearer "+info.Identity, "-H", "x-jit-grant: "+info.Grant, "--calls", "30", "--format", "json")
		require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		res, err := reports.Read(strings.NewReader(r.stdout))
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{"OK": 30}, res.Codes)
	})
	t.Run("every call refused still reports", func(t *testing.T) {
		r := runCLI(t, "", "load", "--target", info.Addr, "--method", "/demo.v1.Vault/Read", "--data", `{"path":"secrets/x"}`,
			"--grant", "none", "--calls", "50")
		require.Equal(t, exitOK, r.code, "a run that completed exits 0: stderr %s", r.stderr)
		assert.Regexp(t, `(?m)^UNAUTHENTICATED\s+50\s+100\.00%$`, r.stdout)
		assert.Contains(t, r.stdout, "IDENTITY_MISSING")
		assert.Contains(t, r.stdout, "100.00% errors")
	})
	t.Run("unknown method", func(t *testing.T) {
		r := runCLI(t, "", "load", "--target", info.Addr, "--method", "/demo.v1.Vault/Delete", "--calls", "1")
		assert.Equal(t, exitUsage, r.code)
		assert.Equal(t, "jitbench: --method: unknown method: service demo.v1.Vault has no method Delete (it has Read, Write, List)\n", r.stderr)
	})
	t.Run("JSON that does not fit", func(t *testing.T) {
		r := runCLI(t, "", "load", "--target", info.Addr, "--method", "/demo.v1.Vault/Read", "-d", `{"paht":"x"}`, "--calls", "1")
		assert.Equal(t, exitUsage, r.code)
		assert.Contains(t, r.stderr, "jitbench: --data: not a demo.v1.ReadRequest in JSON")
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"))
	})
}

func TestLoadUsageErrors(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := lis.Addr().String()
	require.NoError(t, lis.Close())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{}, "--target is required"},
		{"bad target", []string{"--target", "nowhere"}, `--target: want host:port or inprocess, got "nowhere"`},
		{"unreachable target", []string{"--target", closed, "--method", "/a.B/C", "--calls", "1"}, "--target: cannot reach " + closed + ": "},
		{"no method", []string{"--target", "127.0.0.1:1"}, "--method is required"},
		{"bad method", []string{"--target", "inprocess", "--method", "Read"}, `--method: method "Read": want /package.Service/Method`},
		{"bad rate", []string{"--target", "inprocess", "--rate", "fast"}, `--rate: rate "fast": want a number`},
		{"zero rate", []string{"--target", "inprocess", "--rate", "0/s"}, "--rate must be positive"},
		{"bad duration", []string{"--target", "inprocess", "--duration", "soon"}, `invalid argument "soon" for "--duration"`},
		{"negative duration", []string{"--target", "inprocess", "--duration", "-1s"}, "--duration must not be negative"},
		{"zero deadline", []string{"--target", "inprocess", "--deadline", "0s"}, "--deadline must be positive"},
		{"rate and concurrency", []string{"--target", "inprocess", "--rate", "10/s", "--concurrency", "2"}, "pick one"},
		{"rate and ramp", []string{"--target", "inprocess", "--rate", "10/s", "--ramp", "0→10/s"}, "exclude each other"},
		{"bad ramp", []string{"--target", "inprocess", "--ramp", "10/s"}, "want FROM→TO"},
		{"ramp with only calls", []string{"--target", "inprocess", "--ramp", "0→10/s", "--calls", "5"}, "--ramp needs --ramp-over or --duration"},
		{"one step", []string{"--target", "inprocess", "--ramp", "0→10/s", "--steps", "1"}, "--steps must be at least 2"},
		{"steps without ramp", []string{"--target", "inprocess", "--steps", "3"}, "there is none"},
		{"bad grant", []string{"--target", "inprocess", "--grant", "always"}, `--grant: grant mode "always"`},
		{"bad header", []string{"--target", "inprocess", "-H", "no-colon"}, `-H "no-colon": want "key: value"`},
		{"grant twice", []string{"--target", "inprocess", "-H", "x-jit-grant: abc"}, "add --grant none"},
		{"data twice", []string{"--target", "inprocess", "-d", "{}", "--data-file", "x"}, "exclude each other"},
		{"bad format", []string{"--target", "inprocess", "--format", "xml"}, `--format: want text, md or json, got "xml"`},
		{"TLS in process", []string{"--target", "inprocess", "--tls"}, "drop the TLS flags"},
		{"missing CA", []string{"--target", "127.0.0.1:1", "--method", "/a.B/C", "--cacert", "/nonexistent/ca.crt"}, "TLS: /nonexistent/ca.crt: no such file or directory"},
		{"broker needs address", []string{"--target", "127.0.0.1:1", "--method", "/a.B/C", "--grant-source", "broker"}, "needs --broker"},
		{"bad on-pending", []string{"--target", "inprocess", "--on-pending", "never"}, `--on-pending: want stop or wait, got "never"`},
		{"missing data file", []string{"--target", "inprocess", "--data-file", "/nonexistent/req.bin", "--calls", "1"}, "--data-file: /nonexistent/req.bin: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"load"}, tt.args...)...)
			assert.Equal(t, exitUsage, r.code, "stdout %s", r.stdout)
			assert.Contains(t, r.stderr, tt.want)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

// TestLoadTLS loads a 'jitbench serve --tls': the server verified with its
// development CA, and the client certificate as the caller's identity.
func TestLoadTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	info := startServe(t, "--addr", "127.0.0.1:0", "--tls", "--tls-dir", dir, "--json").info(t)
	r := runCLI(t, "", "load", "--target", info.Addr, "--method", "/demo.v1.Vault/Read", "-d", `{"path":"secrets/db/password"}`,
		"--cacert", filepath.Join(dir, "ca.crt"), "--cert", filepath.Join(dir, "client.crt"), "--key", filepath.Join(dir, "client.key"),
		"--calls", "20")
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Regexp(t, `(?m)^OK\s+20\s+100\.00%$`, r.stdout)

	r = runCLI(t, "", "load", "--target", info.Addr, "--method", "/demo.v1.Vault/Read", "--tls", "--calls", "1")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--target: cannot reach "+info.Addr+": ")
	assert.Contains(t, r.stderr, "certificate signed by unknown authority")
}

// TestLoadStopsWhenApprovalsStayPending is issue 15's silent hang: the
// broker approves nothing, so every call waits for a grant (here for up to
// an hour). Once every worker's request is pending, three checks on the
// fake clock find no progress, and load stops with one line that says
// why and what to do, and exit code 1.
func TestLoadStopsWhenApprovalsStayPending(t *testing.T) {
	t.Parallel()
	fc := clockwork.NewFakeClock()
	watches := make(chan *load.ApprovalWatch, 1)
	lr := startLoad(t.Context(), loadHooks{clock: fc, approvals: func(w *load.ApprovalWatch) { watches <- w }},
		"--target", "inprocess", "--auto-approve", "0", "--calls", "50", "--concurrency", "2", "--deadline", "1h")
	w := <-watches
	require.Eventually(t, func() bool { return w.Counts().Waiting == 2 }, 10*time.Second, time.Millisecond, "both workers wait on a pending request")
	for range load.DefaultPendingChecks {
		require.NoError(t, fc.BlockUntilContext(t.Context(), 2)) // the approval check and the progress line
		fc.Advance(load.DefaultPendingEvery)
	}
	assert.Equal(t, exitFailed, <-lr.code)
	assert.Equal(t, "jitbench: stopped: 2 access requests have waited 3s for a reviewer: the in-process broker approves only with --auto-approve, "+
		"e.g. --auto-approve 1ms (--on-pending wait keeps waiting); the report covers the 0 calls that completed\n", lr.stderr.String())
	assert.Contains(t, lr.stdout.String(), "0 calls")
}

// TestLoadWaitsWhenAsked: --on-pending wait says the same once and goes
// on; once a reviewer approves, the calls pass.
func TestLoadWaitsWhenAsked(t *testing.T) {
	t.Parallel()
	fc := clockwork.NewFakeClock()
	watches, refs := make(chan *load.ApprovalWatch, 1), make(chan *load.Reference, 1)
	lr := startLoad(t.Context(), loadHooks{clock: fc, approvals: func(w *load.ApprovalWatch) { watches <- w }, reference: func(r *load.Reference) { refs <- r }},
		"--target", "inprocess", "--auto-approve", "0", "--calls", "2", "--concurrency", "2", "--deadline", "1h", "--on-pending", "wait")
	ref, w := <-refs, <-watches
	require.Eventually(t, func() bool { return w.Counts().Waiting == 2 }, 10*time.Second, time.Millisecond)
	for range load.DefaultPendingChecks {
		require.NoError(t, fc.BlockUntilContext(t.Context(), 2))
		fc.Advance(load.DefaultPendingEvery)
	}
	want := "jitbench: note: 2 access requests have waited 3s for a reviewer: the in-process broker approves only with --auto-approve, " +
		"e.g. --auto-approve 1ms; waiting, as --on-pending wait asks\n"
	require.Eventually(t, func() bool { return lr.stderr.String() == want }, 10*time.Second, time.Millisecond)

	// A reviewer comes: the run goes on and completes.
	carol := broker.Caller{Subject: "carol", Groups: []string{"security"}}
	list, err := ref.System.Broker.ListRequests(t.Context(), carol, &jitv1.ListRequestsRequest{State: jitv1.State_STATE_PENDING})
	require.NoError(t, err)
	require.Len(t, list.GetRequests(), 2)
	for _, req := range list.GetRequests() {
		_, err := ref.System.Broker.Review(t.Context(), carol, &jitv1.ReviewRequest{Id: req.GetId(), Decision: jitv1.Decision_DECISION_APPROVE})
		require.NoError(t, err)
	}
	assert.Equal(t, exitOK, <-lr.code, "stderr: %s", lr.stderr.String())
	assert.Regexp(t, `(?m)^OK\s+2\s+100\.00%$`, lr.stdout.String())
	assert.Equal(t, want, lr.stderr.String(), "the note, once")
}

// TestLoadProgressLinesOffTerminal: with stderr not a terminal, a long run
// writes a progress line every 5 s of its clock.
func TestLoadProgressLinesOffTerminal(t *testing.T) {
	t.Parallel()
	fc := clockwork.NewFakeClock()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	lr := startLoad(ctx, loadHooks{clock: fc}, "--target", "inprocess", "--duration", "1h", "--concurrency", "1")
	require.NoError(t, fc.BlockUntilContext(ctx, 2)) // the approval check and the progress line
	fc.Advance(load.DefaultLogEvery)
	line := regexp.MustCompile(`^jitbench: load \d+s of 1h0m0s  [\d.]+/s  in flight [01](  OK \d+)?\n$`)
	require.Eventually(t, func() bool { return line.MatchString(lr.stderr.String()) }, 10*time.Second, time.Millisecond, "stderr: %q", lr.stderr.String())
	cancel()
	assert.Equal(t, exitFailed, <-lr.code, "interrupted")
	assert.Contains(t, lr.stderr.String(), "jitbench: interrupted: the report covers the")
}

// TestLoadShowsTheServerMessage is issue 15's INVALID_ARGUMENT "(no
// reason)": the report says what the server said.
func TestLoadShowsTheServerMessage(t *testing.T) {
	t.Parallel()
	lr := startLoad(t.Context(), loadHooks{clock: clockwork.NewFakeClock()}, "--target", "inprocess", "-d", "{}", "--calls", "20")
	require.Equal(t, exitOK, <-lr.code, "stderr: %s", lr.stderr.String())
	assert.Regexp(t, `(?m)^INVALID_ARGUMENT\s+\(no reason\)\s+20\s+path is required$`, lr.stdout.String())
}

// loadRepoRoot is the repository root, seen from this package's directory.
const loadRepoRoot = "../.."

// TestCIExamplesBuildFromTheCheckout: the module is not published, so a CI
// example that installs jitbench by module path fails on its first step.
// Each example's steps build it from jitbench's source, and the Makefile
// has the install target they call.
func TestCIExamplesBuildFromTheCheckout(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(loadRepoRoot, "Makefile"))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^install:\n\t\$\(GO\) install \./cmd/jitbench$`, string(makefile))

	examples, err := filepath.Glob(filepath.Join(loadRepoRoot, "docs", "ci", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	byModule := regexp.MustCompile(`go\s+(install|get|run)\s+[^\n]*github\.com/jitbench/jitbench`)
	for _, path := range examples {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			var wf struct {
				Jobs map[string]struct {
					Steps []struct {
						Name string `yaml:"name"`
						Run  string `yaml:"run"`
					} `yaml:"steps"`
				} `yaml:"jobs"`
			}
			require.NoError(t, yaml.Unmarshal(data, &wf))
			require.NotEmpty(t, wf.Jobs)
			for job, j := range wf.Jobs {
				installs := false
				for _, s := range j.Steps {
					assert.NotRegexp(t, byModule, s.Run, "job %s, step %q: the module cannot be fetched by path", job, s.Name)
					installs = installs || strings.Contains(s.Run, `make -C "$JITBENCH_SRC" install`) || strings.Contains(s.Run, "go install ./cmd/jitbench")
				}
				assert.True(t, installs, "job %s builds jitbench from its source", job)
			}
		})
	}
}
