package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness"
)

func TestListShowsTheLibrary(t *testing.T) {
	t.Parallel()
	lib, err := harness.Library()
	require.NoError(t, err)

	r := runCLI(t, "", "list")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Regexp(t, `^NAME\s+TAGS\s+SUMMARY$`, lines[0])
	assert.Len(t, lines, len(lib)+1)
	for _, s := range lib {
		assert.Contains(t, r.stdout, s.Summary)
	}

	r = runCLI(t, "", "list", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var listed []listedScenario
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listed))
	require.Len(t, listed, len(lib))
	assert.Equal(t, lib[0].Name, listed[0].Name)
	assert.NotNil(t, listed[0].Tags)

	tag := lib[0].Tags[0]
	r = runCLI(t, "", "list", "--tag", tag, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	listed = nil
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listed))
	require.NotEmpty(t, listed)
	for _, l := range listed {
		assert.Contains(t, l.Tags, tag)
	}
}

func TestListUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown tag", []string{"list", "--tag", "nope"}, `--tag "nope"`},
		{"stray argument", []string{"list", "baseline"}, `unexpected argument "baseline"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tt.want)
		})
	}
}

func TestScenarioCommandsHaveHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"list", "--help"}, {"run", "--help"}, {"repro", "--help"}} {
		r := runCLI(t, "", args...)
		assert.Equal(t, exitOK, r.code, args)
		assert.Contains(t, r.stdout, "jitbench "+args[0], args)
		assert.Contains(t, r.stdout, "Examples:", args)
	}
}

func TestListFaults(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "list", "--faults")
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, kind := range fakes.Kinds() {
		assert.Contains(t, r.stdout, kind+"\n  "+fakes.Doc(kind).Summary)
	}
	assert.Regexp(t, `(?m)^    target\s+\S`, r.stdout, "parameters are listed under their kind")

	r = runCLI(t, "", "list", "--faults", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var listed []listedFault
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listed))
	assert.Len(t, listed, len(fakes.Kinds()))
}
