package harness

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/scenarios"
)

// TestNoCallsChecksNothing: expectations of "at most" and "0%" hold on no
// calls at all; a run that made none fails, saying so.
func TestNoCallsChecksNothing(t *testing.T) {
	sc := &scenarios.Scenario{Name: "vacuous", Expect: scenarios.Expect{
		Codes:   map[string]string{"PERMISSION_DENIED": "<=10%"},
		Reasons: map[string]string{"GRANT_EXPIRED": "0%"},
	}}
	r := Evaluate(sc, TopologyInProcess, &Record{})
	assert.False(t, r.Pass(), "%+v", r.Checks)
	c := checkNamed(t, r, CallsCheck)
	assert.False(t, c.Pass)
	assert.Equal(t, "none: no calls were made: nothing was checked", c.Got)
	assert.Len(t, r.Failed(), 1, "the shares themselves hold on nothing: only the calls check fails")

	r = Evaluate(sc, TopologyInProcess, record())
	assert.NotContains(t, checkNames(r), CallsCheck, "a run with calls does not list it")
}

// TestActedChecks: every fault of the scenario gets a check that holds only
// if the system met it while calls ran.
func TestActedChecks(t *testing.T) {
	sc := scenarios.Scenario{Name: "x", Faults: []scenarios.Fault{{Kind: "revoke"}, {Kind: "network"}, {Kind: "network"}, {Kind: "approval"}, {Kind: "clock-skew"}}}
	rec := record() // 10 calls at 0
	for i := range rec.Outcomes {
		rec.Outcomes[i].At = time.Duration(i) * 100 * time.Millisecond
	}
	rec.Faults = []FaultRun{
		{Index: 0, Kind: "revoke", Applied: true, At: 350 * time.Millisecond, Effect: "revoked 1 active grant", Met: 1},
		{Index: 1, Kind: "network", Applied: true, Effect: "shaped link x: it acted 0 times"},
		{Index: 2, Kind: "network", Applied: false},
		{Index: 3, Kind: "approval", Applied: true, At: 2 * time.Second, Effect: "scripted the reviewer: it decided 1 request", Met: 1},
		// Index 4 has no account.
	}
	r := Evaluate(&sc, TopologyInProcess, rec)
	tests := []struct {
		name, got string
		pass      bool
	}{
		{"fault revoke acted", "revoked 1 active grant; 6 of 10 calls under it (from 350ms)", true},
		{"fault 2 (network) acted", "applied at 0s, but nothing in the system met it: shaped link x: it acted 0 times", false},
		{"fault 3 (network) acted", "never applied: its window did not open while the load ran", false},
		{"fault approval acted", "applied at 2s, but no call started while it was in force: scripted the reviewer: it decided 1 request", false},
		{"fault clock-skew acted", "no account of it: the run did not record this fault", false},
	}
	for _, tt := range tests {
		c := checkNamed(t, r, tt.name)
		assert.Equal(t, ActedWant, c.Want)
		assert.Equal(t, tt.got, c.Got, tt.name)
		assert.Equal(t, tt.pass, c.Pass, tt.name)
	}
}

// TestAFaultAfterTheLastCallFailsItsScenario: a scenario whose only
// expectation holds whether or not its fault acts (every call OK) fails when
// its fault's window opens after the load is over: nothing was shown.
func TestAFaultAfterTheLastCallFailsItsScenario(t *testing.T) {
	t.Parallel()
	sc := &scenarios.Scenario{Name: "late", Load: scenarios.LoadProfile{Calls: 3},
		Expect: scenarios.Expect{Codes: map[string]string{"OK": "100%"}},
		Faults: []scenarios.Fault{{Kind: fakes.KindKeyRotation, Start: time.Hour, Params: map[string]any{}}}}
	rep, err := RunScenario(t.Context(), sc)
	require.NoError(t, err)
	assert.True(t, checkNamed(t, rep, "code OK").Pass, "every call passed")
	c := checkNamed(t, rep, "fault key-rotation acted")
	assert.False(t, c.Pass)
	assert.Equal(t, "never applied: its window did not open while the load ran", c.Got)
	assert.False(t, rep.Pass(), "a fault that never acted fails its scenario")
	require.Len(t, rep.Faults, 1)
	assert.False(t, rep.Faults[0].Applied)
	var b strings.Builder
	rep.WriteRepro(&b)
	assert.Contains(t, b.String(), "  fault key-rotation: never applied\n", "repro says what each fault did")
}

// TestOverlappingClientFaultsThroughTheEngine is finding 15's run, driven
// by events instead of a clock: credentials-missing identity, then
// credentials-missing grant on top, then the first window closes. Before
// the knobs had layers, that close restored the settings the first fault
// had found and the grant fault vanished: calls passed (OK) instead of
// GRANT_MISSING. Each step is a real gRPC call through the scenario's
// caller.
func TestOverlappingClientFaultsThroughTheEngine(t *testing.T) {
	t.Parallel()
	sc := &scenarios.Scenario{Name: "overlap", Load: scenarios.LoadProfile{Calls: 1}, Faults: []scenarios.Fault{
		{Kind: fakes.KindCredentialsMissing, Params: map[string]any{"credential": "identity"}},
		{Kind: fakes.KindCredentialsMissing, Params: map[string]any{"credential": "grant"}},
	}}
	e := startEnv(t, sc, "")
	identity, grant := e.faults[0], e.faults[1]
	call := func() (codes.Code, reason.Reason) {
		o := e.caller.do(t.Context())
		return o.Code, o.Reason
	}
	steps := []struct {
		do     func()
		code   codes.Code
		reason reason.Reason
	}{
		{func() { require.NoError(t, identity.apply(e.acts, 0)) }, codes.Unauthenticated, reason.IdentityMissing},
		{func() { require.NoError(t, grant.apply(e.acts, 0)) }, codes.Unauthenticated, reason.IdentityMissing},
		{func() { identity.close(time.Millisecond) }, codes.PermissionDenied, reason.GrantMissing},
		{func() { grant.close(2 * time.Millisecond) }, codes.OK, ""},
	}
	for i, s := range steps {
		s.do()
		code, why := call()
		assert.Equal(t, s.code, code, "step %d", i+1)
		assert.Equal(t, s.reason, why, "step %d", i+1)
	}
}

// TestOverlappingApprovalFaultsThroughTheEngine: two scripted reviewers
// stack; removing the one below leaves the one on top deciding (the old
// SetApprover(nil) left requests pending), and removing both leaves
// requests pending. A 10s grant makes every call ask for a new one.
func TestOverlappingApprovalFaultsThroughTheEngine(t *testing.T) {
	t.Parallel()
	sc := &scenarios.Scenario{Name: "reviewers", Broker: scenarios.Broker{Approval: ApprovalReviewer, GrantTTL: 10 * time.Second},
		Client: scenarios.Client{Deadline: time.Second}, Load: scenarios.LoadProfile{Calls: 1}, Faults: []scenarios.Fault{
			{Kind: fakes.KindApproval, Params: map[string]any{"behaviour": "deny"}},
			{Kind: fakes.KindApproval, Params: map[string]any{"behaviour": "approve"}},
		}}
	e := startEnv(t, sc, "")
	deny, approve := e.faults[0], e.faults[1]
	steps := []struct {
		name   string
		do     func()
		code   codes.Code
		reason reason.Reason
	}{
		{"the denying reviewer", func() { require.NoError(t, deny.apply(e.acts, 0)) }, codes.PermissionDenied, reason.ApprovalDenied},
		{"the approving one on top", func() { require.NoError(t, approve.apply(e.acts, 0)) }, codes.OK, ""},
		{"the one below leaves", func() { deny.close(time.Millisecond) }, codes.OK, ""},
		{"nobody reviews", func() { approve.close(2 * time.Millisecond) }, codes.DeadlineExceeded, reason.ApprovalPending},
	}
	for _, s := range steps {
		s.do()
		o := e.caller.do(t.Context())
		assert.Equal(t, s.code, o.Code, "%s: %s", s.name, o.Message)
		assert.Equal(t, s.reason, o.Reason, s.name)
	}
	assert.Positive(t, deny.run().Met, "the denying reviewer decided a request")
	assert.Positive(t, approve.run().Met, "the approving reviewer decided requests")
	r := approve.run()
	assert.Equal(t, 2*time.Millisecond, r.Until, "its window closed when it was removed")
	assert.Contains(t, r.Effect, "scripted the reviewer (approve after 0s): it decided")
}

// TestLibraryFailsWithItsFaultsNeutered runs every library scenario that
// has faults with each fault applied to a probe instead of the system: the
// faults run on their schedule, but nothing of them reaches the system.
// Every such scenario must fail: each has an expectation that holds only if
// its faults acted, its "fault … acted" checks at least, which measure what
// the system met (calls made under a knob, reads of a skewed clock, writes
// on a shaped link, requests a reviewer decided) or what it answered (a
// revoked grant, a new key, the engine's account of a paused container),
// and a probe meets and answers nothing. The other checks fail too where
// the outcome shows the fault (a refusal, a timeout); where it cannot (a
// rotation or a restart nobody should notice), the acted check alone does.
func TestLibraryFailsWithItsFaultsNeutered(t *testing.T) {
	lib, err := Library()
	require.NoError(t, err)
	var inContainers []*scenarios.Scenario
	neutered := 0
	for _, sc := range lib {
		if len(sc.Faults) == 0 {
			continue // nothing to neuter: its settings are what it shows
		}
		if sc.Topology == TopologyExternal {
			continue // neutered against the zoo's services: TestExternalLibraryFailsNeutered
		}
		neutered++
		if sc.Topology == TopologyContainer {
			inContainers = append(inContainers, sc)
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			checkNeutered(t, sc)
		})
	}
	assert.Greater(t, neutered, 30, "most library scenarios have faults")
	t.Run("topology container", func(t *testing.T) {
		// One at a time, as TestLibrary runs them, but beside the
		// in-process ones: those fail whatever the load (a probe met nothing).
		t.Parallel()
		for _, sc := range inContainers {
			t.Run(sc.Name, func(t *testing.T) { checkNeutered(t, sc) })
		}
	})
}

// checkNeutered runs sc with its faults neutered and checks that it fails.
func checkNeutered(t *testing.T, sc *scenarios.Scenario) {
	t.Helper()
	rep, err := runScenario(t.Context(), sc, options{neutered: true})
	rep = judgeNeutered(t, rep, err)
	if rep == nil {
		return
	}
	var failed []string
	for _, c := range rep.Failed() {
		failed = append(failed, c.Name+": "+c.Got)
	}
	t.Logf("fails without its faults, as it must:\n  %s", strings.Join(failed, "\n  "))
	assert.False(t, rep.Pass(), "%s passes although none of its faults reached the system", sc.Name)
	for i := range sc.Faults {
		c := rep.Checks[actedIndex(t, rep, i, sc)]
		assert.False(t, c.Pass, "%s: the system never met it, yet its check holds: %s", c.Name, c.Got)
	}
}

// judgeNeutered is judge without failing on failed expectations: they are the point.
func judgeNeutered(t *testing.T, rep *Report, err error) *Report {
	t.Helper()
	if errors.Is(err, ErrNoEngine) {
		t.Skipf("%v", err)
	}
	require.NoError(t, err)
	return rep
}

// actedIndex finds the acted check of fault i in rep.
func actedIndex(t *testing.T, rep *Report, i int, sc *scenarios.Scenario) int {
	t.Helper()
	n := 0
	for j, c := range rep.Checks {
		if c.Want != ActedWant {
			continue
		}
		if n == i {
			return j
		}
		n++
	}
	require.Failf(t, "no acted check", "fault %d (%s) of %s", i, sc.Faults[i].Kind, sc.Name)
	return 0
}
