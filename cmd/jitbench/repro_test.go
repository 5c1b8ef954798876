package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/scenarios"
)

// byCause returns the first library scenario reproducing cause.
func byCause(t *testing.T, cause string) *scenarios.Scenario {
	t.Helper()
	lib, err := harness.Library()
	require.NoError(t, err)
	for _, s := range lib {
		if s.Cause == cause {
			return s
		}
	}
	require.Failf(t, "no scenario", "the library has no scenario for cause %s", cause)
	return nil
}

func TestReproExplainsClockDrift(t *testing.T) {
	t.Parallel()
	sc := byCause(t, "clock-drift")
	r := runScenarioCLI(t, "repro", sc.Name)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	for _, want := range []string{
		"scenario " + sc.Name,
		"What happened:",
		"PERMISSION_DENIED",
		"GRANT_NOT_YET_VALID",
		"Diagnosis:",
		"Most frequent failure: PERMISSION_DENIED GRANT_NOT_YET_VALID",
		"skew_seen=",
		"fix: synchronise the broker's and the service's clocks",
		"Expectations: PASS",
	} {
		assert.Contains(t, r.stdout, want)
	}
	rep, err := harness.RunScenario(t.Context(), sc)
	require.NoError(t, err)
	require.NotEmpty(t, rep.Explanation)
	assert.Contains(t, r.stdout, firstLine(rep.Explanation), "the rendered explanation is printed")
}

// TestReproWritesAResult checks repro -o: the run's result, with the
// scenario's checks as expectations, readable by `jitbench report`.
func TestReproWritesAResult(t *testing.T) {
	t.Parallel()
	sc := byCause(t, "clock-drift")
	out := filepath.Join(t.TempDir(), "drift.json")
	r := runScenarioCLI(t, "repro", sc.Name, "-o", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "jitbench: wrote "+out+"\n", r.stderr)
	res := readResultFile(t, out)
	assert.Equal(t, sc.Name, res.Run.Name)
	assert.Equal(t, res.Calls, res.Codes["PERMISSION_DENIED"])
	require.Len(t, res.Reasons, 1)
	assert.Equal(t, "GRANT_NOT_YET_VALID", res.Reasons[0].Reason)
	assert.NotEmpty(t, res.Expectations)
	assert.False(t, res.Failed())
}

func TestReproUsageErrors(t *testing.T) {
	t.Parallel()
	bad := writeFile(t, filepath.Join(t.TempDir(), "bad.yaml"), badYAML)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no scenario", []string{"repro"}, exitUsage, "accepts 1 arg"},
		{"two scenarios", []string{"repro", "baseline", "baseline"}, exitUsage, "accepts 1 arg"},
		{"unknown name", []string{"repro", "no-such-scenario"}, exitUsage, `"no-such-scenario"`},
		{"bad file", []string{"repro", bad}, exitUsage, bad + ":7:3:"},
		{"bad topology", []string{"repro", "--topology", "moon", "baseline"}, exitUsage, "--topology"},
		{"-o into a missing directory", []string{"repro", "-o", filepath.Join(t.TempDir(), "no", "r.json"), "baseline"}, exitUsage, "-o: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
		})
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
