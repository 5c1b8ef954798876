package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness"
)

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
		{"a topology the harness cannot start", []string{"run", container}, exitUsage, nil, []string{`topology "container"`, "--topology"}},
		{"... unless --topology overrides it", []string{"run", "--topology", "inprocess", container}, exitOK, []string{"PASS  fine"}, nil},
		{"-o into a missing directory", []string{"run", "-o", filepath.Join(dir, "no", "r.json"), fine}, exitUsage, nil, []string{"-o"}},
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

func TestRunWritesJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fine := writeFile(t, filepath.Join(dir, "fine.yaml"), passing)
	out := filepath.Join(dir, "result.json")

	r := runScenarioCLI(t, "run", fine, "-o", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var res runResult
	require.NoError(t, json.Unmarshal(data, &res))
	assert.Equal(t, resultVersion, res.Version)
	assert.True(t, res.Pass)
	require.Len(t, res.Scenarios, 1)
	assert.Equal(t, "fine", res.Scenarios[0].Scenario)
	assert.Equal(t, map[string]int{"OK": 3}, res.Scenarios[0].Codes)
	assert.Equal(t, "All 3 calls passed.", res.Scenarios[0].Explanation)

	r = runScenarioCLI(t, "run", "--json", "--seed", "42", fine)
	require.Equal(t, exitOK, r.code, r.stderr)
	var printed runResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &printed), "--json prints JSON only")
	assert.True(t, printed.Pass)
	require.Len(t, printed.Scenarios, 1)
	assert.Equal(t, int64(42), printed.Scenarios[0].Seed, "--seed replaces the scenario's seed")
}

// TestRunAllPasses is the CI gate: every library scenario holds against the reference.
func TestRunAllPasses(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := runScenarioCLI(t, "run", "--all")
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	lib, err := harness.Library()
	require.NoError(t, err)
	assert.Contains(t, r.stdout, " passed, 0 failed")
	for _, s := range lib {
		assert.Contains(t, r.stdout, "PASS  "+s.Name+"  (")
	}
	t.Logf("run --all: %d scenarios in %v", len(lib), time.Since(start))
}
