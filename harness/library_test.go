package harness

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
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
	var inContainers []*scenarios.Scenario
	for _, sc := range lib {
		if sc.Topology == TopologyContainer {
			inContainers = append(inContainers, sc)
			continue
		}
		if sc.Topology == TopologyExternal {
			continue // run against the zoo's services: TestExternalLibrary
		}
		t.Run(sc.Name, func(t *testing.T) {
			// Each scenario has its own system, clocks and links, and its
			// timeline's margins are wide enough to share the machine.
			t.Parallel()
			checkLibraryRun(t, sc, Run(t, sc))
		})
	}
	t.Run("topology container", func(t *testing.T) {
		// Not parallel: this runs while the in-process scenarios above
		// wait for the test's body to end, and one scenario at a time. A
		// frozen or restarting container next to them would load the two
		// cores enough to break their tight deadlines, and theirs.
		for _, sc := range inContainers {
			t.Run(sc.Name, func(t *testing.T) {
				rep, err := RunScenario(t.Context(), sc)
				rep = judge(t, rep, err)
				checkLibraryRun(t, sc, rep)
				assert.Equal(t, []string{NoteHandlerUncounted}, rep.Notes, "the report says what a container hides")
			})
		}
	})
}

// checkLibraryRun checks what every library run shows beyond its
// expectations: an explanation, and the scenario's claims.
func checkLibraryRun(t *testing.T, sc *scenarios.Scenario, rep *Report) {
	t.Helper()
	if sc.Explain != "" {
		assert.NotEmpty(t, rep.Explanation)
	}
	if claim, ok := claims[sc.Name]; ok {
		t.Log("\n" + rep.Explanation)
		claim(t, rep)
	}
}

// claims are what library scenarios show beyond their expectations: the
// order of outcomes and the timeline, which shares cannot express.
var claims = map[string]func(t *testing.T, r *Report){
	"partition-strict-fails-closed":   failsClosedForGood,
	"broker-crash-recovers":           recoversAfterTheOutage,
	"broker-paused":                   stallsThenResumes,
	"approval-resumed-after-deadline": timesOutThenResumes,
	"grant-revoked-mid-run":           passesUntilRevoked,
}

// timesOutThenResumes: the two calls before the reviewer turned up ran out
// of their deadline with the request pending; once one call passed (the
// request resumed and approved), every later one did.
func timesOutThenResumes(t *testing.T, r *Report) {
	require.Len(t, r.Outcomes, 10)
	for _, o := range r.Outcomes[:2] {
		assert.Equal(t, codes.DeadlineExceeded, o.Code, "call %d: before the reviewer turned up", o.Index)
		assert.Equal(t, reason.ApprovalPending, o.Reason, "call %d", o.Index)
	}
	first := slices.IndexFunc(r.Outcomes, func(o Outcome) bool { return o.Code == codes.OK })
	require.Positive(t, first, "a call passed once the request was approved")
	for _, o := range r.Outcomes[first:] {
		assert.Equal(t, codes.OK, o.Code, "call %d, after the approval: %s", o.Index, o.Message)
	}
}

// passesUntilRevoked: the four calls before the revocation passed; once
// one was refused, every later one was, with GRANT_REVOKED.
func passesUntilRevoked(t *testing.T, r *Report) {
	require.Len(t, r.Outcomes, 10)
	for _, o := range r.Outcomes[:4] {
		assert.Equal(t, codes.OK, o.Code, "call %d, before the revocation: %s", o.Index, o.Message)
	}
	first := slices.IndexFunc(r.Outcomes, func(o Outcome) bool { return o.Code != codes.OK })
	require.GreaterOrEqual(t, first, 4, "a call after the revocation was refused")
	for _, o := range r.Outcomes[first:] {
		assert.Equal(t, reason.GrantRevoked, o.Reason, "call %d, after the revocation: %s", o.Index, o.Message)
	}
}

// failsClosedForGood: calls pass until the first refusal, and from then
// on no call succeeds: each is refused because the view is stale (or, had
// the revocation got through, because the grant is revoked).
func failsClosedForGood(t *testing.T, r *Report) {
	first := slices.IndexFunc(r.Outcomes, func(o Outcome) bool { return o.Code != codes.OK })
	require.Positive(t, first, "calls pass until the view is stale, then one is refused")
	for _, o := range r.Outcomes[first:] {
		assert.Equal(t, codes.PermissionDenied, o.Code, "call %d at %v", o.Index, o.At)
		assert.Contains(t, []reason.Reason{reason.RevocationViewStale, reason.GrantRevoked}, o.Reason, "call %d at %v", o.Index, o.At)
	}
}

// recoversAfterTheOutage: the per-second timeline shows the outage: the
// first second (before the kill) passes, later seconds have failures, and
// calls pass again in the last one; failures are outage codes only, and
// the last call passes: the clients recovered.
func recoversAfterTheOutage(t *testing.T, r *Report) {
	require.NotNil(t, r.Result)
	tl := r.Result.Timeline
	require.GreaterOrEqual(t, len(tl), 3, "a run of a few seconds")
	var outage []int64
	for _, s := range tl {
		t.Logf("second %d: sent %d, completed %d, codes %v", s.T, s.Sent, s.Completed, s.Codes)
		if s.Codes["OK"] < s.Completed {
			outage = append(outage, s.T)
		}
	}
	assert.NotEmpty(t, outage, "some seconds show failed calls")
	assert.NotContains(t, outage, tl[0].T, "the first second is before the kill")
	assert.Positive(t, tl[len(tl)-1].Codes["OK"], "calls pass again at the end")
	for _, o := range r.Outcomes {
		if o.Code != codes.OK {
			assert.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, o.Code, "call %d at %v: %s", o.Index, o.At, o.Message)
		}
	}
	assert.Equal(t, codes.OK, r.Outcomes[len(r.Outcomes)-1].Code, "the last call passes: the clients recovered")
}

// TestLibraryIsDeterministic runs the scenarios that draw random numbers
// (jitter, a flaky reviewer) twice: the same seed gives the same code and
// reason counts.
func TestLibraryIsDeterministic(t *testing.T) {
	lib, err := Library()
	require.NoError(t, err)
	random := 0
	for _, sc := range lib {
		if !drawsRandom(sc.Faults) || sc.Topology == TopologyExternal {
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

// stallsThenResumes: while the broker is frozen calls run out of their
// deadline (never UNAVAILABLE: its connections stay open); before and
// after, they pass.
func stallsThenResumes(t *testing.T, r *Report) {
	require.NotEmpty(t, r.Outcomes)
	for _, o := range r.Outcomes {
		if o.Code != codes.OK {
			assert.Equal(t, codes.DeadlineExceeded, o.Code, "call %d at %v: %s", o.Index, o.At, o.Message)
			assert.GreaterOrEqual(t, o.Latency, o.Deadline, "call %d waited out its deadline", o.Index)
		}
	}
	assert.Equal(t, codes.OK, r.Outcomes[0].Code, "the first call is before the pause")
	assert.Equal(t, codes.OK, r.Outcomes[len(r.Outcomes)-1].Code, "the last call is after it")
}
