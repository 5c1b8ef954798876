package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/scenarios"
)

// TestLibrary runs every library scenario against the reference and checks
// its expectations: the scenario files are the project's acceptance tests.
func TestLibrary(t *testing.T) {
	lib, err := Library()
	require.NoError(t, err)
	require.NotEmpty(t, lib)
	start := time.Now()
	t.Cleanup(func() { t.Logf("%d library scenarios in %v", len(lib), time.Since(start)) })
	for _, sc := range lib {
		t.Run(sc.Name, func(t *testing.T) {
			// Each scenario has its own system, clocks and links, and its
			// timeline's margins are wide enough to share the machine.
			t.Parallel()
			rep := Run(t, sc)
			if rep != nil && sc.Explain != "" {
				assert.NotEmpty(t, rep.Explanation)
			}
		})
	}
}

// TestLibraryIsDeterministic runs the scenarios that draw random numbers
// (jitter, a flaky reviewer) twice: the same seed gives the same code and
// reason counts.
func TestLibraryIsDeterministic(t *testing.T) {
	lib, err := Library()
	require.NoError(t, err)
	random := 0
	for _, sc := range lib {
		if !drawsRandom(sc.Faults) {
			continue
		}
		random++
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			first, err := RunScenario(t.Context(), sc)
			require.NoError(t, err)
			second, err := RunScenario(t.Context(), sc)
			require.NoError(t, err)
			assert.Equal(t, first.Codes, second.Codes)
			assert.Equal(t, first.Reasons, second.Reasons)
		})
	}
	assert.Positive(t, random, "no library scenario draws random numbers any more: pick others to rerun")
}

// drawsRandom reports whether a fault draws from the seed: network jitter
// or a reviewer that decides by chance.
func drawsRandom(faults []scenarios.Fault) bool {
	for _, f := range faults {
		for k, v := range f.Params {
			if k == "jitter" || strings.HasSuffix(k, "_share") || v == "flaky" {
				return true
			}
		}
	}
	return false
}
