package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// fixture is the reports package's complete example result: an open-loop
// run through a 2 s freeze.
const fixture = "../../reports/testdata/fixture.json"

func TestReportRender(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(fixture)
	require.NoError(t, err)
	tests := []struct {
		format string
		want   []string
	}{
		{"text", []string{"jitbench result: read-under-freeze", "PERMISSION_DENIED", "GRANT_EXPIRED", "TIMELINE"}},
		{"md", []string{"read-under-freeze", "| p99"}},
		{"junit", []string{"<testsuite", "<testcase"}},
		{"html", []string{"<!DOCTYPE html>", "<svg"}},
		{"prom", []string{"# TYPE", "jitbench_"}},
		{"json", []string{`"schema": "jitbench.result/v1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			r := runCLI(t, "", "report", "render", "--format", tt.format, fixture)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stdout, w)
			}
			// The same from standard input.
			in := runCLI(t, string(raw), "report", "render", "--format", tt.format, "-")
			require.Equal(t, exitOK, in.code, "stderr: %s", in.stderr)
			if tt.format != "html" { // the page carries no clock, but keep the check to formats that are plain text
				assert.Equal(t, r.stdout, in.stdout)
			}
		})
	}
	t.Run("text is the golden report", func(t *testing.T) {
		golden, err := os.ReadFile("../../reports/testdata/fixture.txt")
		require.NoError(t, err)
		r := runCLI(t, "", "report", "render", fixture)
		assert.Equal(t, string(golden), r.stdout)
	})
	t.Run("to a file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.html")
		r := runCLI(t, "", "report", "render", "--format", "html", fixture, "-o", out)
		require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		assert.Empty(t, r.stdout)
		page, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Contains(t, string(page), "<svg")
	})
}

// TestReportJSONRoundTrip renders a result as JSON and reads it back unchanged.
func TestReportJSONRoundTrip(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "again.json")
	r := runCLI(t, "", "report", "render", "--format", "json", fixture, "-o", out)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	orig, again := readResultFile(t, fixture), readResultFile(t, out)
	assert.Equal(t, orig.Calls, again.Calls)
	assert.Equal(t, orig.Codes, again.Codes)
	assert.Equal(t, orig.Reasons, again.Reasons)
	assert.Equal(t, orig.Run, again.Run)
	for _, p := range []float64{50, 99, 99.99} {
		assert.Equal(t, orig.Latency.Percentile(p), again.Latency.Percentile(p))
	}
	second := runCLI(t, "", "report", "render", "--format", "json", out)
	first := runCLI(t, "", "report", "render", "--format", "json", fixture)
	assert.Equal(t, first.stdout, second.stdout, "rendering is stable")
}

func TestReportMerge(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "m.json")
	r := runCLI(t, "", "report", "merge", fixture, fixture, "-o", out)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, "merged 2 results (2000 calls) into "+out)
	orig, merged := readResultFile(t, fixture), readResultFile(t, out)
	assert.Equal(t, 2*orig.Calls, merged.Calls)
	for code, n := range orig.Codes {
		assert.Equal(t, 2*n, merged.Codes[code], code)
	}
	// Twice the same distribution has the same percentiles: the merge adds histograms, it does not average percentiles.
	for _, p := range []float64{50, 90, 99, 99.9} {
		assert.Equal(t, orig.Latency.Percentile(p), merged.Latency.Percentile(p), "p%v", p)
	}

	t.Run("to standard output", func(t *testing.T) {
		r := runCLI(t, "", "report", "merge", fixture)
		require.Equal(t, exitOK, r.code)
		res, err := reports.Read(strings.NewReader(r.stdout))
		require.NoError(t, err)
		assert.Equal(t, orig.Calls, res.Calls)
	})
}

func TestReportDiff(t *testing.T) {
	t.Parallel()
	// The merge of the fixture with itself has twice its calls and the same latencies.
	doubled := filepath.Join(t.TempDir(), "doubled.json")
	require.Equal(t, exitOK, runCLI(t, "", "report", "merge", fixture, fixture, "-o", doubled).code)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no gates", []string{fixture, doubled}, exitOK, []string{"METRIC", "calls", "p99"}},
		{"gates pass", []string{fixture, doubled, "--fail-on", "p99>+10%,error_rate>+0.5pp"}, exitOK, []string{"pass p99>+10%", "pass error_rate>+0.5pp"}},
		{"a gate fails", []string{fixture, doubled, "--fail-on", "p99>+10%,p99>1s"}, exitFailed, []string{"pass p99>+10%", "FAIL p99>1s"}},
		{"markdown", []string{fixture, doubled, "--fail-on", "calls>+50%", "--format", "md"}, exitFailed, []string{"**1 of 1 gates failed**", "❌"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"report", "diff"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stderr, "the verdicts are the report")
			for _, w := range tt.want {
				assert.Contains(t, r.stdout, w)
			}
		})
	}
}

func TestReportUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	foreign := writeFile(t, filepath.Join(dir, "foreign.json"), `{"name": "not ours"}`)
	truncated := writeFile(t, filepath.Join(dir, "truncated.json"), `{"schema": "jitbench.result/v1", "calls": 1`)
	newer := writeFile(t, filepath.Join(dir, "newer.json"), `{"schema": "jitbench.result/v2"}`)
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"render", missing}, "open " + missing + ": no such file or directory"},
		{"foreign JSON", []string{"render", foreign}, foreign + `: not a jitbench result: no "schema" field`},
		{"truncated", []string{"render", truncated}, truncated + ": truncated result"},
		{"other schema", []string{"diff", fixture, newer}, newer + `: unsupported result schema "jitbench.result/v2"`},
		{"merge with a foreign file", []string{"merge", fixture, foreign}, foreign + ": not a jitbench result"},
		{"bad format", []string{"render", "--format", "pdf", fixture}, `--format: want one of html, json, junit, md, prom, text, got "pdf"`},
		{"bad diff format", []string{"diff", "--format", "html", fixture, fixture}, `--format: want text or md, got "html"`},
		{"bad gate", []string{"diff", fixture, fixture, "--fail-on", "p99>fast"}, `--fail-on: gate "p99>fast"`},
		{"render needs a file", []string{"render"}, "accepts 1 arg(s), received 0"},
		{"diff needs two", []string{"diff", fixture}, "accepts 2 arg(s), received 1"},
		{"merge needs one", []string{"merge"}, "requires at least 1 arg(s)"},
		{"unknown subcommand", []string{"show", fixture}, `unknown command "show" for "jitbench report"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"report"}, tt.args...)...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tt.want)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
		})
	}
}
