package scenarios

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLibraryLoads(t *testing.T) {
	all, err := LoadLibrary(LoadOptions{ValidateFault: stubValidator})
	require.NoError(t, err)
	require.NotEmpty(t, all)
	plain, err := Library()
	require.NoError(t, err)
	assert.Equal(t, all, plain, "the validator only checks; it changes nothing")
	assert.True(t, slices.IsSortedFunc(all, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) }))

	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			assert.NotEmpty(t, s.Tags, "tags let `jitbench run --tag` pick it")
			assert.NotEmpty(t, strings.TrimSpace(s.Explain), "repro prints the explanation")
			if len(s.Measure) > 0 {
				assert.NotEmpty(t, s.Expect.Measurements, "a measurement scenario says what its figures must be")
			} else {
				assert.NotEmpty(t, s.Expect.CodeShares, "every library scenario says which codes it expects")
			}
			assert.LessOrEqual(t, s.Load.Calls, 20, "library loads stay small so --all runs fast")
			assert.LessOrEqual(t, s.Load.Concurrency, 4)
			assert.True(t, strings.HasPrefix(s.File, "scenarios/library/"), s.File)
		})
	}
}

func TestLibraryCoversEveryCause(t *testing.T) {
	all, err := Library()
	require.NoError(t, err)
	for _, cause := range Causes {
		assert.True(t, slices.ContainsFunc(all, func(s *Scenario) bool { return s.Cause == cause }), "no scenario for cause %s", cause)
	}
}

func TestLibraryCoversEveryFaultKind(t *testing.T) {
	all, err := Library()
	require.NoError(t, err)
	for _, kind := range faultKinds {
		used := slices.ContainsFunc(all, func(s *Scenario) bool {
			return slices.ContainsFunc(s.Faults, func(f Fault) bool { return f.Kind == kind })
		})
		assert.True(t, used, "no scenario injects %s", kind)
	}
}

// TestLibraryExplanationsRender renders every explanation with plausible
// figures: the loader checks names, this checks that they print.
func TestLibraryExplanationsRender(t *testing.T) {
	all, err := Library()
	require.NoError(t, err)
	f := Figures{
		Calls: 10, Codes: map[string]int{"PERMISSION_DENIED": 10}, Reasons: map[string]int{"GRANT_EXPIRED": 10},
		P50: 3 * time.Millisecond, P99: 9 * time.Millisecond, Deadline: 2 * time.Second, ApprovalWait: 300 * time.Millisecond,
		SkewSeen: 2 * time.Minute, TokenAge: 2 * time.Minute, ExpiredAgo: time.Minute, Leeway: 30 * time.Second,
		OfferedAlg: "ES256", AcceptedAlgs: "EdDSA",
		MetaCounts: map[string]map[string]int{"request_id": {"r-1": 10}},
	}
	for _, s := range all {
		got, err := s.RenderExplain(f)
		require.NoError(t, err, s.Name)
		assert.NotContains(t, got, "<no value>", s.Name)
	}
}

// TestLibraryRunsQuickly bounds a rough estimate of the library's run time
// (each call as long as its deadline when the scenario expects calls to
// wait for one - a short-deadline fault's deadline where there is one -
// else 50ms, plus intervals and fault starts), so that
// `jitbench run --all` stays well under a minute as scenarios are added.
func TestLibraryRunsQuickly(t *testing.T) {
	all, err := Library()
	require.NoError(t, err)
	// In-process and TCP scenarios run one after another; container ones
	// run side by side in one slot, so each is bounded on its own.
	var total time.Duration
	for _, s := range all {
		est := estimate(t, s)
		if s.Topology == "container" || s.Topology == "external" {
			// External ones run only against a user's service (--target), on their own.
			assert.Less(t, est, 15*time.Second, "estimated run time of %s scenario %s", s.Topology, s.Name)
			continue
		}
		total += est
	}
	// 33s: proxy-abort-unavailable counts 10 × its 300ms deadline here,
	// though the proxy ends its UNAVAILABLE calls at once.
	assert.Less(t, total, 33*time.Second, "estimated library run time")
}

// estimate is how long s's load should take: its duration when it has
// one, else its rounds of calls, plus the start of each fault.
func estimate(t *testing.T, s *Scenario) time.Duration {
	t.Helper()
	deadline := s.Client.Deadline
	for _, f := range s.Faults {
		if d, ok := f.Params["deadline"].(string); ok && f.Kind == "short-deadline" {
			var err error
			deadline, err = time.ParseDuration(d)
			require.NoError(t, err, s.Name)
		}
	}
	per := 50 * time.Millisecond
	for _, slow := range []string{"DEADLINE_EXCEEDED", "UNAVAILABLE"} {
		if _, ok := s.Expect.CodeShares[slow]; ok {
			per = deadline
		}
	}
	var est time.Duration
	switch {
	case s.Load.Duration > 0:
		est = s.Load.Duration + per
	case s.Load.Concurrency > 0:
		rounds := (s.Load.Calls + s.Load.Concurrency - 1) / s.Load.Concurrency
		est = time.Duration(rounds) * max(per, s.Load.Interval)
	default:
		t.Fatalf("%s: an open-loop scenario without a duration cannot be estimated", s.Name)
	}
	for _, f := range s.Faults {
		est += f.Start
	}
	return est
}

func TestFind(t *testing.T) {
	s, err := Find("clock-drift")
	require.NoError(t, err)
	assert.Equal(t, "clock-drift", s.Name)

	_, err = Find("clock-drfit")
	assert.EqualError(t, err, "no library scenario named \"clock-drfit\" (did you mean \"clock-drift\"?); `jitbench list` shows them")
}

func TestLibraryReturnsFreshCopies(t *testing.T) {
	a, err := Find("baseline")
	require.NoError(t, err)
	a.Load.Calls = 1
	b, err := Find("baseline")
	require.NoError(t, err)
	assert.NotEqual(t, 1, b.Load.Calls)
}
