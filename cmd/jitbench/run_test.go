package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/harness/containers"
	"github.com/jitbench/jitbench/reports"
	"github.com/jitbench/jitbench/scenarios"
)

// TestMain turns testcontainers' Ryuk reaper off before anything reads its
// settings (its image would be pulled) and silences its banner, as main
// does, and after the tests checks that
// the container scenarios left nothing behind, whether they passed or not.
func TestMain(m *testing.M) {
	zoo.MainIfChild() // the zoo services the --target tests run against, as processes of their own
	containers.DisableRyuk()
	containers.Quiet()
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if err := containers.Sweep(ctx, harness.ContainerRunID()); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the container scenarios were not cleaned up:", err)
		code = 1
	}
	cancel()
	os.Exit(code)
}

// runScenarioCLI runs the CLI like runCLI, with room for scenario runs.
func runScenarioCLI(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// passing is a scenario file every run of the reference satisfies.
const passing = `name: fine
summary: An approved caller reads a secret.
load:
  calls: 3
expect:
  codes:
    OK: 100%
explain: All {{.Calls}} calls passed.
`

// wrong expects the opposite of what the reference does.
const wrong = `name: wrong
summary: Claims approved calls are refused.
load:
  calls: 3
expect:
  codes:
    PERMISSION_DENIED: 100%
`

// badYAML has an unknown key at line 7, column 3.
const badYAML = `name: bad
summary: A typo in expect.
expect:
  codes:
    OK: 100%
  reasons: {}
  colour: red
`

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fine := writeFile(t, filepath.Join(dir, "fine.yaml"), passing)
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), badYAML)
	wrongFile := writeFile(t, filepath.Join(dir, "wrong.yaml"), wrong)
	container := writeFile(t, filepath.Join(dir, "container.yaml"), "topology: container\n"+passing)
	// A container fault in a scenario that runs in process is the file's mistake: its line is named.
	misplaced := writeFile(t, filepath.Join(dir, "misplaced.yaml"), passing+"faults:\n  - kind: container-kill\n    start: 1s\n")
	// An explanation that ranged over 200000000 ran jitbench out of memory.
	bomb := writeFile(t, filepath.Join(dir, "bomb.yaml"), strings.Replace(passing, "explain: All {{.Calls}} calls passed.",
		"explain: |\n  {{range 200000000}}{{printf \"%0999999d\" 1}}{{end}}", 1))
	// A fault whose window opens after the last call shows nothing: its run fails.
	late := writeFile(t, filepath.Join(dir, "late.yaml"), passing+"faults:\n  - kind: key-rotation\n    start: 1h\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"a passing file", []string{"run", fine}, exitOK, []string{"PASS  fine", "1 scenario: 1 passed, 0 failed"}, nil},
		{"a library name", []string{"run", "baseline"}, exitOK, []string{"PASS  baseline", "100% (20 of 20)"}, nil},
		{"over tcp", []string{"run", "--topology", "tcp", fine}, exitOK, []string{"PASS  fine  (tcp"}, nil},
		{"a failing expectation", []string{"run", wrongFile}, exitFailed,
			[]string{"FAIL  wrong", "FAIL  code PERMISSION_DENIED", "0% (0 of 3)", "failed: wrong"}, nil},
		{"a bad file names file:line:col", []string{"run", bad}, exitUsage, nil, []string{bad + ":7:3:", "colour"}},
		{"a missing file", []string{"run", filepath.Join(dir, "missing.yaml")}, exitUsage, nil, []string{"missing.yaml"}},
		{"an unknown name", []string{"run", "baseline-typo"}, exitUsage, nil, []string{`"baseline-typo"`, "baseline"}},
		{"nothing named", []string{"run"}, exitUsage, nil, []string{"--all or --tag"}},
		{"--all with a name", []string{"run", "--all", "baseline"}, exitUsage, nil, []string{"--all"}},
		{"an unknown tag", []string{"run", "--tag", "no-such-tag"}, exitUsage, nil, []string{`--tag "no-such-tag"`}},
		{"an unknown topology", []string{"run", "--topology", "k8s", fine}, exitUsage, nil, []string{"--topology", `"k8s"`}},
		{"a container scenario moved in process by --topology", []string{"run", "--topology", "inprocess", container}, exitOK, []string{"PASS  fine  (inprocess"}, nil},
		{"a container fault on the scenario's own topology", []string{"run", misplaced}, exitFailed,
			[]string{"ERROR  fine: ", misplaced + ":10:5: fault container-kill: needs topology container (this run: inprocess)"}, nil},
		{"a container fault where --topology forbids it is skipped", []string{"run", "--topology", "tcp", "broker-crash-recovers", fine}, exitOK,
			[]string{"SKIP   broker-crash-recovers: ", "fault container-kill: needs topology container (this run: tcp)", "PASS  fine",
				"2 scenarios: 1 passed, 0 failed, 1 skipped"}, nil},
		{"-o into a missing directory", []string{"run", "-o", filepath.Join(dir, "no", "r.json"), fine}, exitUsage, nil, []string{"-o"}},
		{"a file that never ends", []string{"run", "/dev/zero"}, exitUsage, nil,
			[]string{"/dev/zero: the scenario file is larger than 1 MiB, its size limit"}},
		{"an explanation that loops over a number", []string{"run", bomb}, exitUsage, nil,
			[]string{bomb + ":9:11: explain template: range goes over .Codes or .Reasons only (200000000)"}},
		{"a fault that never acted", []string{"run", late}, exitFailed,
			[]string{"FAIL  fine", "FAIL  fault key-rotation acted", "never applied"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runScenarioCLI(t, tt.args...)
			assert.Equal(t, tt.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, want := range tt.stdout {
				assert.Contains(t, r.stdout, want)
			}
			for _, want := range tt.stderr {
				assert.Contains(t, r.stderr, want)
			}
			if tt.code == exitUsage {
				assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line names what is wrong: %q", r.stderr)
			}
		})
	}
}

func TestRunJSONPrintsTheReports(t *testing.T) {
	t.Parallel()
	fine := writeFile(t, filepath.Join(t.TempDir(), "fine.yaml"), passing)
	r := runScenarioCLI(t, "run", "--json", "--seed", "42", fine)
	require.Equal(t, exitOK, r.code, r.stderr)
	var printed runResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &printed), "--json prints JSON only")
	assert.Equal(t, resultVersion, printed.Version)
	assert.True(t, printed.Pass)
	require.Len(t, printed.Scenarios, 1)
	assert.Equal(t, "fine", printed.Scenarios[0].Scenario)
	assert.Equal(t, map[string]int{"OK": 3}, printed.Scenarios[0].Codes)
	assert.Equal(t, "All 3 calls passed.", printed.Scenarios[0].Explanation)
	assert.Equal(t, int64(42), printed.Scenarios[0].Seed, "--seed replaces the scenario's seed")
}

// runToFile runs the scenario file text with -o into a temporary
// directory and returns the result file's path and the run, which must
// exit with code.
func runToFile(t *testing.T, text string, code int) (string, result) {
	t.Helper()
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "scenario.yaml"), text)
	out := filepath.Join(dir, "result.json")
	r := runScenarioCLI(t, "run", file, "-o", out)
	require.Equal(t, code, r.code, r.stderr)
	return out, r
}

// TestRunWritesAReportsResult runs a scenario with -o and renders the file
// with `jitbench report render`, as a user would.
func TestRunWritesAReportsResult(t *testing.T) {
	t.Parallel()
	out, r := runToFile(t, passing, exitOK)
	assert.Equal(t, "jitbench: wrote "+out+"\n", r.stderr)
	res := readResultFile(t, out)
	assert.Equal(t, "fine", res.Run.Name)
	assert.Equal(t, "/demo.v1.Vault/Read", res.Run.Method)
	assert.Equal(t, reports.ClosedLoop, res.Run.Mode)
	assert.Equal(t, moduleVersion(), res.Run.Version)
	assert.EqualValues(t, 3, res.Calls)
	assert.Equal(t, map[string]int64{"OK": 3}, res.Codes)
	require.NotEmpty(t, res.Expectations)
	assert.Equal(t, reports.Expectation{Name: "code OK", Want: "100%", Got: "100% (3 of 3)", Pass: true}, res.Expectations[0])
	assert.False(t, res.Failed())

	page := filepath.Join(filepath.Dir(out), "report.html")
	r = runCLI(t, "", "report", "render", "--format", "html", out, "-o", page)
	require.Equal(t, exitOK, r.code, r.stderr)
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.Contains(t, string(html), "<svg", "the page has its plots")
	assert.Contains(t, string(html), "fine")

	r = runCLI(t, "", "report", "render", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "code OK")
}

// TestRunFailedExpectationIsAJUnitFailure renders a failing scenario's
// result as JUnit: the failed check is a failed test case.
func TestRunFailedExpectationIsAJUnitFailure(t *testing.T) {
	t.Parallel()
	out, _ := runToFile(t, wrong, exitFailed)
	assert.True(t, readResultFile(t, out).Failed(), "a failed run still writes its result")

	r := runCLI(t, "", "report", "render", "--format", "junit", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `<testsuite name="jitbench.wrong" tests="2" failures="1"`)
	assert.Contains(t, r.stdout, `<testcase name="code PERMISSION_DENIED" classname="jitbench.wrong" time="0">`)
	assert.Contains(t, r.stdout, `<failure message="code PERMISSION_DENIED: want 100%, got 0% (0 of 3)" type="expectation">`)
	assert.Contains(t, r.stdout, `<testcase name="handler never ran for a denied call" classname="jitbench.wrong" time="0"></testcase>`)
}

// TestRunWritesOneResultPerScenario checks -o with several scenarios: a
// directory of NAME.json files, two scenarios of one name kept apart, and
// a .json file name refused before anything runs.
func TestRunWritesOneResultPerScenario(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fine := writeFile(t, filepath.Join(dir, "fine.yaml"), passing)
	again := writeFile(t, filepath.Join(dir, "again.yaml"), passing)
	wrongFile := writeFile(t, filepath.Join(dir, "wrong.yaml"), wrong)
	out := filepath.Join(dir, "results")

	r := runScenarioCLI(t, "run", fine, wrongFile, again, "-o", out)
	require.Equal(t, exitFailed, r.code, r.stderr)
	assert.Equal(t, "jitbench: wrote 3 results to "+out+"\n", r.stderr)
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"fine-2.json", "fine.json", "wrong.json"}, names)
	assert.False(t, readResultFile(t, filepath.Join(out, "fine.json")).Failed())
	assert.True(t, readResultFile(t, filepath.Join(out, "wrong.json")).Failed())

	// An existing directory takes NAME.json for one scenario too.
	r = runScenarioCLI(t, "run", wrongFile, "-o", out)
	require.Equal(t, exitFailed, r.code, r.stderr)
	assert.Equal(t, "jitbench: wrote "+filepath.Join(out, "wrong.json")+"\n", r.stderr)

	r = runScenarioCLI(t, "run", fine, wrongFile, "-o", filepath.Join(dir, "all.json"))
	require.Equal(t, exitUsage, r.code)
	assert.Equal(t, "jitbench: -o "+filepath.Join(dir, "all.json")+": 2 scenarios write one result each: name a directory, where each goes to NAME.json\n", r.stderr)
	assert.Empty(t, r.stdout, "nothing ran")
}

// TestRunLeavesNoResultForAScenarioThatCannotRun checks that the file -o
// made before the run is removed when the scenario did not run.
func TestRunLeavesNoResultForAScenarioThatCannotRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A fault that shapes how the system is built cannot start late: the run refuses it.
	late := writeFile(t, filepath.Join(dir, "late.yaml"), passing+"faults:\n  - kind: verifier-wrong-key\n    start: 1s\n")
	out := filepath.Join(dir, "late.json")
	r := runScenarioCLI(t, "run", late, "-o", out)
	require.Equal(t, exitFailed, r.code, r.stderr)
	assert.Contains(t, r.stdout, "ERROR  fine:")
	assert.NoFileExists(t, out)
}

// TestRunAllPasses is the CI gate: every library scenario holds against the
// reference. It runs them in process: the container scenarios, which
// harness's TestLibrary runs in containers, are skipped here with the
// reason, so they run once per test run (and the skip is shown end to end).
func TestRunAllPasses(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := runScenarioCLI(t, "run", "--all", "--topology", harness.TopologyInProcess)
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	all, err := harness.Library()
	require.NoError(t, err)
	var lib []*scenarios.Scenario
	for _, s := range all {
		if s.Topology == harness.TopologyExternal {
			assert.NotContains(t, r.stdout, s.Name, "--all without --target leaves the external library out")
			continue
		}
		lib = append(lib, s)
	}
	inContainers := 0
	for _, s := range lib {
		if s.Topology == harness.TopologyContainer {
			inContainers++
			assert.Regexp(t, `(?m)^SKIP   `+s.Name+`: .*fault [a-z-]+: needs topology container \(this run: inprocess\)$`, r.stdout)
			continue
		}
		assert.Equal(t, harness.TopologyInProcess, s.Topology, "%s: --topology inprocess would move it", s.Name)
		assert.Contains(t, r.stdout, "PASS  "+s.Name+"  (")
	}
	assert.Positive(t, inContainers)
	assert.Contains(t, r.stdout, fmt.Sprintf("%d scenarios: %d passed, 0 failed, %d skipped", len(lib), len(lib)-inContainers, inContainers))
	t.Logf("run --all: %d scenarios in %v", len(lib), time.Since(start))
}

// TestRunInContainers runs a scenario file of topology container: the
// broker and the Vault in Docker containers. It skips without Docker.
func TestRunInContainers(t *testing.T) {
	t.Parallel()
	testcontainers.SkipIfProviderIsNotHealthy(t)
	dir := t.TempDir()
	container := writeFile(t, filepath.Join(dir, "container.yaml"), "topology: container\n"+passing)
	r := runScenarioCLI(t, "run", "--json", container)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	var printed runResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &printed))
	require.Len(t, printed.Scenarios, 1)
	rep := printed.Scenarios[0]
	assert.Equal(t, harness.TopologyContainer, rep.Topology)
	assert.Equal(t, map[string]int{"OK": 3}, rep.Codes)
	assert.Equal(t, []string{harness.NoteHandlerUncounted}, rep.Notes)
}

// TestSkippedSaysWhy sorts run errors: no Docker engine, or a fault that
// cannot act on the topology --topology forced, skips the scenario; the
// same fault on the scenario's own topology is its own mistake.
func TestSkippedSaysWhy(t *testing.T) {
	inContainers := &scenarios.Scenario{Name: "c", Topology: harness.TopologyContainer}
	inProcess := &scenarios.Scenario{Name: "p", Topology: harness.TopologyInProcess}
	noEngine := fmt.Errorf("scenario c: start the system on topology container: %w: dial unix: no such file", harness.ErrNoEngine)
	noContainers := fmt.Errorf("s.yaml:5:5: fault container-kill: %w (this run: tcp)", fakes.ErrNoContainers)
	needsLocal := fmt.Errorf("s.yaml:5:5: fault clock-skew: skewing the broker's clock %w: ...", harness.ErrNeedsLocal)
	tests := []struct {
		name     string
		err      error
		sc       *scenarios.Scenario
		topology string
		skip     bool
	}{
		{"no error", nil, inContainers, "", false},
		{"no engine", noEngine, inContainers, "", true},
		{"no engine, forced", noEngine, inProcess, harness.TopologyContainer, true},
		{"container fault forced elsewhere", noContainers, inContainers, harness.TopologyTCP, true},
		{"container fault on its own topology", noContainers, inProcess, "", false},
		{"container fault, --topology naming its own", noContainers, inProcess, harness.TopologyInProcess, false},
		{"in-process fault forced into containers", needsLocal, inProcess, harness.TopologyContainer, true},
		{"in-process fault on its own container topology", needsLocal, inContainers, "", false},
		{"another error", errors.New("boom"), inContainers, harness.TopologyTCP, false},
		{"not on the user's service, picked by the library", fmt.Errorf("x: %w", harness.ErrNotOnTarget), inProcess, harness.TopologyExternal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.skip, skipped(tt.err, tt.sc, tt.topology, false))
		})
	}
	assert.False(t, skipped(fmt.Errorf("x: %w", harness.ErrNotOnTarget), inProcess, harness.TopologyExternal, true),
		"a scenario named on the command line that cannot act on the service is an error, not a skip")
}

// TestRunStopsWhenInterrupted: once interrupted (Ctrl-C cancels the
// context), no further scenario starts, each says so, and the run fails.
func TestRunStopsWhenInterrupted(t *testing.T) {
	t.Parallel()
	fine := writeFile(t, filepath.Join(t.TempDir(), "fine.yaml"), passing)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"run", fine, "baseline"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, exitFailed, code, stderr.String())
	assert.Contains(t, stdout.String(), "ERROR  fine: not run: interrupted\n")
	assert.Contains(t, stdout.String(), "ERROR  baseline: not run: interrupted\n")
	assert.Contains(t, stdout.String(), "2 scenarios: 0 passed, 2 failed")
}
