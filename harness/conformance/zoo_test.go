package conformance_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reports"
)

// The zoo's services were written as if by teams who never saw this
// repository: other header names, claim layouts, key formats and key
// sources. Each member's conventions are plain data (zoo.Convention); the
// test writes a target config from them, as a user would from their
// service's documentation, and holds the suite to its promise: a correct
// build passes every case its capabilities allow, and each buggy build
// fails the cases the zoo names for its bug.

// zooConfig writes the config of kind's member, whose keys are in dir, to
// dir/target.yaml; the address is filled in by the caller.
func zooConfig(t *testing.T, kind zoo.Kind, dir string) (zoo.Convention, string) {
	t.Helper()
	c, err := zoo.Describe(kind)
	require.NoError(t, err)
	path, err := zoo.WriteTargetConfig(kind, dir, "127.0.0.1:1")
	require.NoError(t, err)
	return c, path
}

// zooRun starts kind's build with bug and runs the cases run selects (all when empty) against it.
func zooRun(t *testing.T, kind zoo.Kind, bug zoo.Bug, run ...string) *reports.ConformanceResult {
	t.Helper()
	dir := t.TempDir()
	_, err := zoo.GenerateKeys(kind, dir)
	require.NoError(t, err)
	_, path := zooConfig(t, kind, dir)
	cfg, err := conformance.LoadConfig(path)
	require.NoError(t, err)
	opts := zoo.Options{KeysDir: dir}
	if served, ok := cfg.KeySource.(*conformance.ServedKeys); ok {
		require.NoError(t, served.Start())
		t.Cleanup(func() { _ = served.Close() })
		opts.JWKSURL = served.URL()
	}
	target, err := zoo.Start(kind, bug, opts)
	require.NoError(t, err)
	t.Cleanup(target.Stop)
	cfg.Address, cfg.HandlerCalls = target.Addr, target.HandlerCalls
	res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: run})
	require.NoError(t, err, "%s/%s", kind, bug)
	return res
}

// TestZooCorrectBuildsPass runs the whole catalog against the correct
// build of each zoo member: nothing fails, and what is skipped is skipped
// for a capability the member does not have.
func TestZooCorrectBuildsPass(t *testing.T) {
	for _, kind := range zoo.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			res := zooRun(t, kind, zoo.None)
			var lines []string
			for _, c := range res.Cases {
				if c.Verdict == reports.CaseFail {
					lines = append(lines, fmt.Sprintf("%s %s: got %s %s (%s)", c.ID, c.Rule, c.Got, c.Detail, c.Message))
				}
				if c.Verdict == reports.CaseSkip {
					assert.True(t, strings.HasPrefix(c.Detail, "needs: ") || c.Detail != "", "%s is skipped for a reason", c.ID)
				}
			}
			assert.Empty(t, lines, "the correct %s build fails no case", kind)
			assert.False(t, res.Failed())
			s := res.Summary()
			assert.Greater(t, s.Passed, 30, "%s: %s", kind, s)
			if c, _ := zoo.Describe(kind); c.Grant.Key.Format == zoo.KeyPEMSPKI || c.Grant.Key.Format == zoo.KeyPEMDir {
				assert.True(t, variantRan(res, "ALG-002", "file"), "%s: ALG-002 MACs with the bytes of the service's key file", kind)
			}
			t.Logf("%s: %s", kind, s)
		})
	}
}

// TestZooBugsAreCaught runs, against every buggy build of every member,
// the cases the zoo names for its bug: each of them fails.
func TestZooBugsAreCaught(t *testing.T) {
	catches := zoo.Catches()
	for _, kind := range zoo.Kinds() {
		for _, bug := range zoo.Bugs(kind) {
			t.Run(string(kind)+"/"+string(bug), func(t *testing.T) {
				res := zooRun(t, kind, bug, catches[bug]...)
				failed := map[string]string{}
				for _, c := range res.Cases {
					if c.Verdict == reports.CaseFail {
						failed[c.ID] = c.Rule
					}
				}
				var missed []string
				for _, id := range catches[bug] {
					if _, ok := failed[id]; !ok {
						missed = append(missed, id+" ("+verdictOf(res, id)+")")
					}
				}
				sort.Strings(missed)
				assert.Empty(t, missed, "%s/%s: the cases that must catch it; it failed %v", kind, bug, failed)
			})
		}
	}
}

// verdictOf says how case id ended, for a message.
func verdictOf(res *reports.ConformanceResult, id string) string {
	for _, c := range res.Cases {
		if c.ID == id {
			return string(c.Verdict) + ": " + c.Got + " " + c.Detail
		}
	}
	return "not run"
}

// variantRan reports whether case id's variant name ran (was not skipped).
func variantRan(res *reports.ConformanceResult, id, name string) bool {
	for _, c := range res.Cases {
		for _, v := range c.Variants {
			if c.ID == id && v.Name == name {
				return !v.Skipped
			}
		}
	}
	return false
}
