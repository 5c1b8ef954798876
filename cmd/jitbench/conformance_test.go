package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/harness/containers"
	"github.com/jitbench/jitbench/reports"
)

// serveTarget starts 'jitbench serve' on free ports and writes the example
// config, pointed at it, into dir; edit changes the config's text first.
func serveTarget(t *testing.T, dir string, edit func(string) string, serveArgs ...string) string {
	t.Helper()
	info := startServe(t, append([]string{"--addr", "127.0.0.1:0", "--json"}, serveArgs...)...).info(t)
	cfg := string(conformance.ExampleConfig())
	cfg = strings.Replace(cfg, "address: 127.0.0.1:7443", "address: "+info.Addr, 1)
	cfg = strings.Replace(cfg, "address: 127.0.0.1:7444", "address: "+info.BrokerAddr, 1)
	if edit != nil {
		cfg = edit(cfg)
	}
	return writeFile(t, filepath.Join(dir, "target.yaml"), cfg)
}

// keySourceCases are the cases the example config skips: they need a key
// source the suite serves, and 'jitbench serve' reads its keys from its broker.
var keySourceCases = []string{"KEY-004", "DL-003", "OUT-002", "OUT-003"}

// TestConformanceAgainstServe runs the whole suite against a real 'jitbench
// serve': it passes with only the documented skips, and every output file
// reads back: the JUnit through a real JUnit parser.
func TestConformanceAgainstServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := serveTarget(t, dir, nil)
	xml, md, js := filepath.Join(dir, "c.xml"), filepath.Join(dir, "c.md"), filepath.Join(dir, "c.json")

	res := runCLI(t, "", "conformance", "--config", cfg, "--junit", xml, "--markdown", md, "-o", js)
	require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "PASS: 49 cases: 45 passed, 0 failed, 4 skipped, 0 known failing, 0 not applicable")
	assert.Contains(t, res.stdout, "note: handler runs are not observable")
	for _, id := range keySourceCases {
		assert.Regexp(t, id+` +skip .*needs: key source control \(.*key_source`, res.stdout)
	}
	assert.Contains(t, res.stderr, "wrote "+xml)

	suites, err := junit.IngestFile(xml)
	require.NoError(t, err)
	require.Len(t, suites, 1)
	var names, skipped []string
	for _, tc := range suites[0].Tests {
		names = append(names, tc.Name)
		if tc.Status == junit.StatusSkipped {
			skipped = append(skipped, tc.Name)
		}
		assert.NotEqual(t, junit.StatusFailed, tc.Status, tc.Name)
	}
	assert.Equal(t, conformance.IDs(), names, "one test case per catalog id, in order")
	assert.Equal(t, keySourceCases, skipped)
	assert.Equal(t, 0, suites[0].Totals.Failed)
	assert.Equal(t, 4, suites[0].Totals.Skipped)

	f, err := os.Open(js)
	require.NoError(t, err)
	defer f.Close()
	back, err := reports.ReadConformance(f)
	require.NoError(t, err)
	assert.Equal(t, reports.ConformanceSummary{Total: 49, Passed: 45, Skipped: 4}, back.Summary())
	mdText, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Contains(t, string(mdText), "**✅ pass** — 49 cases: 45 passed")

	// --json prints the same result on stdout.
	res = runCLI(t, "", "conformance", "--config", cfg, "--json", "--run", "OK-001", "--run", "ALG-001")
	require.Equal(t, exitOK, res.code, res.stderr)
	two, err := reports.ReadConformance(strings.NewReader(res.stdout))
	require.NoError(t, err)
	assert.Equal(t, []string{"OK-001", "ALG-001"}, []string{two.Cases[0].ID, two.Cases[1].ID})
}

// TestConformanceSingleTokenServe checks the single-token profile against 'serve --single-token'.
func TestConformanceSingleTokenServe(t *testing.T) {
	t.Parallel()
	cfg := serveTarget(t, t.TempDir(), func(s string) string {
		return strings.Replace(s, "profile: two-token", "profile: single-token", 1)
	}, "--single-token", "--auto-approve", "1ms")
	res := runCLI(t, "", "conformance", "--config", cfg)
	require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "PASS: 49 cases: 44 passed, 0 failed, 4 skipped, 0 known failing, 1 not applicable")
}

// TestConformanceFailuresAndKnownFailing makes SKW-001 fail by claiming a
// leeway the service does not have, and checks the known-failing list both ways.
func TestConformanceFailuresAndKnownFailing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := serveTarget(t, dir, func(s string) string { return strings.Replace(s, "leeway: 30s", "leeway: 2m", 1) })
	run := []string{"conformance", "--config", cfg, "--run", "SKW-*", "--run", "OK-001"}

	res := runCLI(t, "", run...)
	require.Equal(t, exitFailed, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
	assert.Regexp(t, `SKW-001 +fail +OK +PERMISSION_DENIED +GRANT_EXPIRED .* expected-code: want OK, got PERMISSION_DENIED`, res.stdout)
	assert.Contains(t, res.stdout, "FAIL: 4 cases: 3 passed, 1 failed")
	assert.Empty(t, res.stderr, "a failed check prints no error line")

	known := writeFile(t, filepath.Join(dir, "known.txt"), "# the service's leeway is 30s\nSKW-001  # config says 2m on purpose\n")
	res = runCLI(t, "", append(run, "--known-failing", known)...)
	require.Equal(t, exitOK, res.code, "stdout:\n%s", res.stdout)
	assert.Regexp(t, `SKW-001 +known-fail .*listed in `+regexpQuote(known)+`:2 \(config says 2m on purpose\)`, res.stdout)
	assert.Contains(t, res.stdout, "PASS: 4 cases: 3 passed, 0 failed, 0 skipped, 1 known failing")

	stale := writeFile(t, filepath.Join(dir, "stale.txt"), "SKW-001\nOK-001\n")
	res = runCLI(t, "", append(run, "--known-failing", stale)...)
	require.Equal(t, exitFailed, res.code, "stdout:\n%s", res.stdout)
	assert.Contains(t, res.stdout, "OK-001 passes now: remove OK-001 from the known-failing list ("+stale+":2)")
}

// TestConformanceControlFirst runs configs that do not match 'jitbench
// serve': OK-001 is refused, the run stops there (exit 1) and says which
// part of the config most likely does not match; and a run in which no
// case that expects a refusal ran is not a pass.
func TestConformanceControlFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := readFile(t, serveTarget(t, dir, nil))
	for _, tt := range []struct{ name, from, to, want string }{
		{"audience", "audience: demo.v1.Vault", "audience: shop.v1.Cart", "most likely the audience (audience) does not match the target"},
		{"grant header", "  grant: x-jit-grant ", "  grant: x-access-grant #", "most likely the credential headers (headers: name and scheme) or the profile"},
		{"method form", "    # method_form: pkg.Service/Method", "    method_form: pkg.Service.Method #", "most likely the claim layout (tokens.grant"},
		{"typ", "    typ: jit-grant+jwt", "    typ: at+jwt #", "most likely the JOSE header (tokens.*.typ"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Contains(t, good, tt.from)
			cfg := writeFile(t, filepath.Join(dir, tt.name+".yaml"), strings.Replace(good, tt.from, tt.to, 1))
			res := runCLI(t, "", "conformance", "--config", cfg)
			require.Equal(t, exitFailed, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
			assert.Contains(t, res.stderr, "the control failed: OK-001, a valid call, answered ")
			assert.Contains(t, res.stderr, tt.want)
			assert.Contains(t, res.stderr, "the suite sent header {")
			assert.Equal(t, 1, strings.Count(res.stderr, "\n"), "one line: %q", res.stderr)
			assert.Regexp(t, `OK-001 +fail `, res.stdout)
			assert.NotContains(t, res.stdout, "ALG-001", "nothing runs after a failed control")
		})
	}
	cfg := writeFile(t, filepath.Join(dir, "good.yaml"), good)
	for _, run := range [][]string{{"OK-001"}, {"OUT-002", "DL-003"}} {
		args := []string{"conformance", "--config", cfg}
		for _, id := range run {
			args = append(args, "--run", id)
		}
		res := runCLI(t, "", args...)
		assert.Equal(t, exitFailed, res.code, "--run %v: stdout:\n%s\nstderr: %s", run, res.stdout, res.stderr)
		assert.Contains(t, res.stderr, "nothing was checked: no case that expects a refusal ran", run)
	}
}

// TestConformanceSetupErrorIsNotAFailure: a revoke hook that fails makes
// SCP-003 an error of the setup (exit 2), not a verdict on the service.
func TestConformanceSetupErrorIsNotAFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := serveTarget(t, dir, func(s string) string {
		before, _, found := strings.Cut(s, "\nbroker:\n")
		require.True(t, found)
		return before + "\nrevoke: {command: [false, \"${jti}\"]}\n"
	})
	res := runCLI(t, "", "conformance", "--config", cfg, "--run", "SCP-003", "--run", "ALG-001")
	require.Equal(t, exitUsage, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
	assert.Regexp(t, `SCP-003 +skip .*setup failed: revoke command false: exit status 1`, res.stdout)
	assert.Contains(t, res.stdout, "\nERROR: setup failed: SCP-003: revoke command false: exit status 1: 2 cases: 1 passed, 0 failed, 1 skipped")
	assert.NotContains(t, res.stdout, "PASS", "a run that could not stage a case is not a pass")
	assert.Contains(t, res.stderr, "a case could not be staged: SCP-003: revoke command false: exit status 1")
	assert.Equal(t, 1, strings.Count(res.stderr, "\n"), "one line: %q", res.stderr)
}

// TestConformanceDocsExamplesParse checks that every `jitbench conformance`
// line of the generated docs/conformance.md uses flags the command has.
func TestConformanceDocsExamplesParse(t *testing.T) {
	t.Parallel()
	doc := readFile(t, filepath.Join("..", "..", conformance.DocsPath))
	n := 0
	for _, line := range strings.Split(doc, "\n") {
		line, _, _ = strings.Cut(line, " #")
		fields := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), "\\"))
		if len(fields) < 2 || fields[0] != "jitbench" || fields[1] != "conformance" {
			continue
		}
		cmd, rest, err := newConformanceCmd().Find(fields[2:]) // conformance, or its init
		require.NoError(t, err, "%s", line)
		require.NoError(t, cmd.ParseFlags(rest), "%s", line)
		n++
	}
	assert.GreaterOrEqual(t, n, 4, "the page shows the command")
}

func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "(", `\(`, ")", `\)`).Replace(s)
}

// TestConformanceUsageErrors: bad flags, config, list or target exit 2 with one line naming what is wrong.
func TestConformanceUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	example := string(conformance.ExampleConfig())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := lis.Addr().String()
	require.NoError(t, lis.Close())
	unreachable := writeFile(t, filepath.Join(dir, "unreachable.yaml"), strings.Replace(example, "127.0.0.1:7443", closed, 1))
	badKey := writeFile(t, filepath.Join(dir, "bad.yaml"), strings.Replace(example, "leeway: 30s", "leeway: 30s\nleway: 1m", 1))
	badLine := strings.Count(example[:strings.Index(example, "leeway: 30s")], "\n") + 2 // the line after leeway
	badList := writeFile(t, filepath.Join(dir, "known.txt"), "ALG-001\nALG-099\n")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no config", []string{}, "--config is required"},
		{"missing config file", []string{"--config", filepath.Join(dir, "nope.yaml")}, "--config: invalid conformance config: " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
		{"strict config", []string{"--config", badKey}, fmt.Sprintf("%s:%d:1: unknown key \"leway\"", badKey, badLine)},
		{"unreachable", []string{"--config", unreachable}, "the target is unreachable: cannot reach " + closed},
		{"run matches nothing", []string{"--config", unreachable, "--run", "XYZ-*"}, `--run "XYZ-*" matches no case id`},
		{"bad glob", []string{"--config", unreachable, "--skip", "[x"}, `--skip "[x": syntax error in pattern`},
		{"known-failing unknown id", []string{"--config", unreachable, "--known-failing", badList}, badList + `:2: unknown case id "ALG-099"`},
		{"missing list", []string{"--config", unreachable, "--known-failing", filepath.Join(dir, "none.txt")}, "--known-failing: "},
		{"stray argument", []string{"target.yaml"}, `unexpected argument "target.yaml"`},
		{"unknown flag", []string{"--confg", "x"}, "unknown flag: --confg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, "", append([]string{"conformance"}, tt.args...)...)
			assert.Equal(t, exitUsage, res.code, "stdout %q", res.stdout)
			assert.Contains(t, res.stderr, tt.want)
			assert.Equal(t, 1, strings.Count(res.stderr, "\n"), "one line: %q", res.stderr)
		})
	}
}

func TestConformanceExampleAndList(t *testing.T) {
	t.Parallel()
	res := runCLI(t, "", "conformance", "--example-config")
	require.Equal(t, exitOK, res.code)
	_, err := conformance.ParseConfig("stdout", []byte(res.stdout))
	require.NoError(t, err, "the printed example loads")

	res = runCLI(t, "", "conformance", "--list")
	require.Equal(t, exitOK, res.code)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Len(t, lines, 50, "a header and one line per case")
	assert.Regexp(t, `^CLM-007 +PERMISSION_DENIED +n/a `, lines[31])
	assert.Regexp(t, `^FMT-003 +PERMISSION_DENIED +UNAUTHENTICATED +RESOURCE_EXHAUSTED +- +64 KiB`, lines[8])

	res = runCLI(t, "", "conformance", "--help")
	require.Equal(t, exitOK, res.code)
	assert.Contains(t, res.stdout, "jitbench conformance --config target.yaml --junit conformance.xml")
}

// TestConformanceTLS runs cases over TLS against 'serve --tls', on the
// target's connection and on the connections the network cases open.
func TestConformanceTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	cfg := serveTarget(t, dir, func(s string) string {
		return strings.Replace(s, "# tls:\n", "tls:\n  ca: "+filepath.Join(tlsDir, "ca.crt")+"\n# tls:\n", 1)
	}, "--tls", "--tls-dir", tlsDir)
	res := runCLI(t, "", "conformance", "--config", cfg, "--run", "OK-001", "--run", "ID-00[14]", "--run", "ALG-001",
		"--run", "DL-00[12]", "--run", "OUT-00[14]", "--run", "SCP-00[34]")
	require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "PASS: 10 cases: 10 passed, 0 failed")

	// Without the CA the server's certificate is not trusted: the target cannot be reached.
	untrusted := writeFile(t, filepath.Join(dir, "untrusted.yaml"),
		strings.Replace(readFile(t, cfg), "  ca: "+filepath.Join(tlsDir, "ca.crt"), "  server_name: localhost", 1))
	res = runCLI(t, "", "conformance", "--config", untrusted, "--run", "OK-001")
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "the target is unreachable")
	assert.Contains(t, res.stderr, "certificate")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// imageTarget prepares the jitbench images (built from this checkout when
// they are out of date) and writes the example config, unchanged: its
// broker on 127.0.0.1:7444 is the container's, which --image publishes. It
// skips t where no Docker engine answers.
func imageTarget(t *testing.T) (containers.Images, string) {
	t.Helper()
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	im, err := containers.PrepareImages(ctx)
	require.NoError(t, err)
	return im, writeFile(t, filepath.Join(t.TempDir(), "target.yaml"), string(conformance.ExampleConfig()))
}

// serveInImage are the flags that run 'jitbench serve' (broker and Vault)
// from the worker image: every image holds the same binary.
func serveInImage(im containers.Images) []string {
	return []string{"--image", im.Worker, "--image-entrypoint", "/jitbench",
		"--image-arg", "serve", "--image-arg", "--addr=0.0.0.0:7443", "--image-arg", "--broker-addr=0.0.0.0:7444"}
}

// startedRun reads the run id conformance --image printed, and checks that
// nothing of that run is left.
func startedRun(t *testing.T, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`started \S+ as container [0-9a-f]{12} \(run ([0-9a-f]+)\)`).FindStringSubmatch(stderr)
	require.NotNil(t, m, "stderr: %s", stderr)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	leaks, err := containers.Leaks(ctx, m[1])
	require.NoError(t, err)
	assert.Empty(t, leaks, "the container is removed afterwards")
	return m[1]
}

// TestConformanceFromAnImage runs the suite against 'jitbench serve' in a
// container: the default port is the config address's, the suite calls
// the published port instead (and says so), passes, and the container is
// gone afterwards.
func TestConformanceFromAnImage(t *testing.T) {
	t.Parallel()
	im, cfg := imageTarget(t)
	res := runCLI(t, "", append([]string{"conformance", "--config", cfg}, serveInImage(im)...)...)
	require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "PASS: 49 cases: 45 passed, 0 failed, 4 skipped")
	assert.Regexp(t, `SCP-003 +pass `, res.stdout, "the container's broker, published, revokes the grant")
	assert.Regexp(t, `broker port 7444 published on 127\.0\.0\.1:\d+: the suite calls 127\.0\.0\.1:\d+ instead of the config's broker address 127\.0\.0\.1:7444`, res.stderr)
	assert.Regexp(t, `port 7443 published on 127\.0\.0\.1:\d+: the suite calls 127\.0\.0\.1:\d+ instead of the config's address 127\.0\.0\.1:7443`, res.stderr)
	assert.Contains(t, res.stderr, "jitbench: removed container ")
	startedRun(t, res.stderr)

	res = runCLI(t, "", "conformance", "--config", cfg, "--image", "jitbench-no-such-image:dev")
	assert.Equal(t, exitUsage, res.code)
	assert.Equal(t, "jitbench: --image jitbench-no-such-image:dev: image not present locally (nothing is pulled: build or load it first): jitbench-no-such-image:dev\n", res.stderr)
}

// cancelOnWrite is an output that cancels a context once what was written
// to it contains needle: Ctrl-C at a chosen moment.
type cancelOnWrite struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	needle string
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.needle) {
		c.cancel()
	}
	return len(p), nil
}

func (c *cancelOnWrite) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// TestConformanceFromAnImageInterrupted interrupts the run as soon as the
// container is up: it is removed all the same, and the run fails.
func TestConformanceFromAnImageInterrupted(t *testing.T) {
	t.Parallel()
	im, cfg := imageTarget(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelOnWrite{needle: "jitbench: started ", cancel: cancel}
	var stdout bytes.Buffer
	code := run(ctx, append([]string{"conformance", "--config", cfg}, serveInImage(im)...), strings.NewReader(""), &stdout, stderr)
	assert.Equal(t, exitFailed, code, "stdout:\n%s\nstderr: %s", stdout.String(), stderr)
	assert.Contains(t, stderr.String(), "jitbench: interrupted")
	assert.Contains(t, stderr.String(), "jitbench: removed container ")
	startedRun(t, stderr.String())
}

// TestConformanceImageFlags: the --image flags are checked before anything starts.
func TestConformanceImageFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "target.yaml"), string(conformance.ExampleConfig()))
	noPort := writeFile(t, filepath.Join(dir, "noport.yaml"),
		strings.Replace(string(conformance.ExampleConfig()), "address: 127.0.0.1:7443", "address: vault.internal", 1))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--port without --image", []string{"--config", cfg, "--port", "7443"}, "--port goes with --image"},
		{"--image-arg without --image", []string{"--config", cfg, "--image-arg", "serve"}, "--image-arg goes with --image"},
		{"a port out of range", []string{"--config", cfg, "--image", "x:1", "--port", "70000"}, "--port: want a port in 1..65535, got 70000"},
		{"an address without a port", []string{"--config", noPort, "--image", "x:1"}, `--port: the config's address "vault.internal" names no port`},
		{"a bad --image-env", []string{"--config", cfg, "--image", "x:1", "--image-env", "DEBUG"}, `--image-env: want KEY=VALUE, got "DEBUG"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, "", append([]string{"conformance"}, tt.args...)...)
			assert.Equal(t, exitUsage, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.want)
			assert.Equal(t, 1, strings.Count(res.stderr, "\n"), "one line: %q", res.stderr)
		})
	}
}
