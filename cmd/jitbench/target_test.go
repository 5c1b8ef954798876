package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/harness/zootarget"
)

// The tests that run scenarios against zoo services are not parallel:
// they run one after another before the package's parallel tests, so
// their service processes never load the machine under the reference's
// timed scenarios (TestRunAllPasses).

// zooService starts kind's correct build in a process of its own and
// returns its target config's file, as `zoo-target --target-config` writes it.
func zooService(t *testing.T, kind zoo.Kind) string {
	t.Helper()
	return zootarget.Start(t, kind, zootarget.Options{}).Path
}

// TestReproOnAServiceThatIsNotTheReference is the README's walkthrough: a
// DEADLINE_EXCEEDED and a PERMISSION_DENIED reproduced on a service in
// another team's conventions, each failed call diagnosed with its figures.
func TestReproOnAServiceThatIsNotTheReference(t *testing.T) {
	cfg := zooService(t, zoo.MethodsList)
	for _, tc := range []struct {
		scenario string
		want     []string
	}{
		{"external-deadline-too-short-for-approval", []string{
			"(external, seed", "DEADLINE_EXCEEDED", "diagnosis (5 of 5 calls, approval-slower-than-deadline)",
			"of its 300ms deadline for approval", "fix: give the call a deadline longer than approval takes", "Expectations: PASS"}},
		{"external-grant-expired", []string{
			"PERMISSION_DENIED", "diagnosis (5 of 5 calls, token-expired)", "beyond the 30s leeway",
			"fix: obtain a fresh grant", "Expectations: PASS"}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			r := runScenarioCLI(t, "repro", tc.scenario, "--target", cfg)
			require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, want := range tc.want {
				assert.Contains(t, r.stdout, want)
			}
			assert.NotContains(t, r.stdout, "eyJ", "no token is ever printed")
		})
	}
}

// TestRunTheExternalLibrary runs `run --tag external --target` on two
// services: what cannot act on one is skipped with its reason, the rest passes.
func TestRunTheExternalLibrary(t *testing.T) {
	for kind, pick := range map[zoo.Kind][]string{
		zoo.MethodsList: {"--all"}, // with --target, the external library
		zoo.BearerGrant: {"--tag", harness.TagExternal},
	} {
		t.Run(string(kind), func(t *testing.T) {
			cfg := zooService(t, kind)
			r := runScenarioCLI(t, append([]string{"run", "--target", cfg, "--json"}, pick...)...)
			require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			var res runResult
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
			assert.True(t, res.Pass)
			assert.Empty(t, res.Errors)
			assert.GreaterOrEqual(t, len(res.Scenarios), 12, "most of the library acts on any service")
			for _, rep := range res.Scenarios {
				assert.Equal(t, harness.TopologyExternal, rep.Topology)
			}
			for _, s := range res.Skipped {
				assert.Contains(t, s.Error, "cannot act on an external target", s.Scenario)
			}
		})
	}
}

func TestTargetUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), "address: 127.0.0.1:1\nmethod: /a.B/C\npayload: '{}'\naudience: x\nkeys: {dev: true}\nleway: 30s\n")
	unreachable := writeFile(t, filepath.Join(dir, "gone.yaml"), "address: 127.0.0.1:1\nmethod: /a.B/C\npayload: '{}'\naudience: x\nkeys: {dev: true}\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"external scenario without a target", []string{"repro", "external-grant-expired"}, "runs against your own service: give its target config with --target FILE"},
		{"bad target config", []string{"run", "external-baseline", "--target", bad}, "bad.yaml:6:1"},
		{"unreachable target", []string{"run", "external-baseline", "--target", unreachable}, "--target " + unreachable},
		{"target and another topology", []string{"run", "external-baseline", "--target", unreachable, "--topology", "tcp"}, "leave --topology out"},
		{"topology external without a target", []string{"run", "--all", "--topology", "external"}, "give its target config with --target FILE"},
		{"repro on topology external without a target", []string{"repro", "baseline", "--topology", "external"}, "give its target config with --target FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runScenarioCLI(t, tc.args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(r.stderr), "\n")+1, "one line: %q", r.stderr)
		})
	}
}

func TestListExternal(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "list", "--external", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var listed []listedScenario
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listed))
	require.NotEmpty(t, listed)
	for _, s := range listed {
		assert.Contains(t, s.Tags, harness.TagExternal, s.Name)
	}
	lib, err := harness.Library()
	require.NoError(t, err)
	assert.Len(t, listed, len(harness.Tagged(lib, harness.TagExternal)))
	assert.Less(t, len(listed), len(lib))
}

// TestReadmeWalkthroughOnAnotherService runs the README's walkthrough as
// shown: the zoo-target line's flags (in this process, its directory a
// temporary one), then the two repro lines against the config it wrote.
func TestReadmeWalkthroughOnAnotherService(t *testing.T) {
	p := readmeLoad(t, "README.md")
	const dirShown = "/tmp/orders"
	var start []string
	var repros [][]string
	for _, b := range p.blocks {
		for _, line := range b.lines {
			words := readmeShellWords(readmeShellWordsComment(line))
			switch {
			case len(words) > 3 && words[0] == "go" && words[2] == "./fakes/zoo/cmd/zoo-target":
				start = words[3:]
			case len(words) > 3 && words[0] == "jitbench" && words[1] == "repro" && slices.Contains(words, "--target"):
				repros = append(repros, words[1:])
			}
		}
	}
	require.NotEmpty(t, start, "the README starts a zoo target")
	require.Len(t, repros, 2, "the README reproduces two failures on it")
	dir := t.TempDir()
	swap := func(words []string) []string {
		out := make([]string, 0, len(words))
		for _, w := range words {
			if w == "&" {
				continue
			}
			out = append(out, strings.ReplaceAll(w, dirShown, dir))
		}
		return out
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	lines := &startedLine{c: make(chan string, 1)}
	go zoo.Main(ctx, swap(start), lines, io.Discard)
	var started zoo.Started
	require.NoError(t, json.Unmarshal([]byte(<-lines.c), &started))
	require.Equal(t, filepath.Join(dir, "target.yaml"), started.TargetConfig)
	for i, want := range [][]string{
		{"DEADLINE_EXCEEDED", "diagnosis (5 of 5 calls, approval-slower-than-deadline)", "of its 300ms deadline for approval"},
		{"PERMISSION_DENIED", "diagnosis (5 of 5 calls, token-expired)", "beyond the 30s leeway"},
	} {
		r := runScenarioCLI(t, swap(repros[i])...)
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		for _, w := range want {
			assert.Contains(t, r.stdout, w)
		}
	}
}

// startedLine hands the first line written to it to c.
type startedLine struct {
	c    chan string
	once sync.Once
}

func (w *startedLine) Write(p []byte) (int, error) {
	w.once.Do(func() { w.c <- string(p) })
	return len(p), nil
}

// TestDocsExternalCoversEverything: docs/external.md's tables and lists
// name every fault kind, every diagnosed cause (in precedence order) and
// every measurement the code has, so the page cannot fall behind it.
func TestDocsExternalCoversEverything(t *testing.T) {
	p := readmeLoad(t, "docs/external.md")
	for _, kind := range fakes.Kinds() {
		assert.Contains(t, p.text, "| `"+kind+"` | "+fakes.Doc(kind).External+" |\n", "the fault table says how %s acts on a user's service, as it declares", kind)
	}
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z-]+)`[,.]").FindAllStringSubmatch(p.text[strings.Index(p.text, "The causes, in the order"):strings.Index(p.text, "A scenario can expect")], -1) {
		listed = append(listed, m[1])
	}
	assert.Equal(t, harness.Diagnoses(), listed, "the causes, in precedence order")
	for _, m := range harness.Measurements() {
		assert.Contains(t, p.text, "| `"+m+"` |", "the measurement table has %s", m)
	}
}

// TestExternalOverTLS runs external scenarios against 'serve --tls', the
// reference as any user's service, described by the example config: the
// caller's connection and the fault proxy's both speak TLS to it.
func TestExternalOverTLS(t *testing.T) {
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	cfg := serveTarget(t, dir, func(s string) string {
		return strings.Replace(s, "# tls:\n", "tls:\n  ca: "+filepath.Join(tlsDir, "ca.crt")+"\n# tls:\n", 1)
	}, "--tls", "--tls-dir", tlsDir)
	r := runScenarioCLI(t, "run", "external-baseline", "external-proxy-abort-unavailable", "external-grant-expired", "--target", cfg, "--json")
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	var res runResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.Len(t, res.Scenarios, 3)
	assert.Equal(t, 10, res.Scenarios[0].Codes["OK"])
	assert.Equal(t, 7, res.Scenarios[1].Codes["UNAVAILABLE"], "the proxy reached the service over TLS for the other three")
	assert.Equal(t, 3, res.Scenarios[1].Codes["OK"])
	require.NotEmpty(t, res.Scenarios[2].Diagnoses)
	assert.Equal(t, "token-expired", res.Scenarios[2].Diagnoses[0].Cause, "the reference's own reason agrees with the diagnosis")
}

// TestNamedScenarioThatCannotAct: a scenario named on the command line
// whose fault the service gives no way to act on fails the run with its
// reason (picked by --all it would be skipped).
func TestNamedScenarioThatCannotAct(t *testing.T) {
	cfg := zooService(t, zoo.MethodsList) // no key source jitbench serves
	r := runScenarioCLI(t, "run", "external-key-source-down", "--target", cfg)
	assert.Equal(t, exitFailed, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "ERROR  external-key-source-down:")
	assert.Contains(t, r.stdout, "external-key-source-down.yaml:")
	assert.Contains(t, r.stdout, "this target config has none")
}

// TestNoTokenIsPrinted: a service that quotes the refused token in its
// message (the zoo's token-echo build) never gets it printed: not in
// repro's text, its JSON, nor the result file.
func TestNoTokenIsPrinted(t *testing.T) {
	cfg := zootarget.Start(t, zoo.MethodsList, zootarget.Options{Bug: zoo.TokenEcho}).Path
	out := filepath.Join(t.TempDir(), "r.json")
	for _, args := range [][]string{
		{"repro", "external-grant-expired", "--target", cfg, "-o", out},
		{"repro", "external-grant-expired", "--target", cfg, "--json"},
	} {
		r := runScenarioCLI(t, args...)
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		assert.Contains(t, r.stdout, "the token has expired", "the service's words are kept")
		assert.Contains(t, r.stdout, "[redacted]", "the echoed token was there, and replaced")
		assert.NotContains(t, r.stdout, "eyJ", "no token is ever printed")
	}
	assert.NotContains(t, readFile(t, out), "eyJ", "nor written")
}
