package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/scenarios"
)

// requireEngine skips t where no Docker engine answers.
func requireEngine(t *testing.T) {
	t.Helper()
	testcontainers.SkipIfProviderIsNotHealthy(t)
}

// checkNames lists the names of r's checks.
func checkNames(r *Report) []string {
	names := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		names[i] = c.Name
	}
	return names
}

// scenarioFile writes text as a scenario file and loads it, faults validated.
func scenarioFile(t *testing.T, text string) (*scenarios.Scenario, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	sc, err := LoadFile(path)
	require.NoError(t, err)
	return sc, path
}

// TestStartRefusesWhatTheTopologyCannotDo: a fault or setting that acts
// inside the broker or the Vault is refused on topology container, a
// container fault on the others, before anything starts (so without
// Docker too), naming the fault's file:line:col and the topology to use.
func TestStartRefusesWhatTheTopologyCannotDo(t *testing.T) {
	const head = "name: refused\nsummary: Refused before it starts.\nexpect: {codes: {OK: 100%}}\n"
	tests := []struct {
		name, topo, body string
		is               error
		want             string
	}{
		{"service clock", TopologyContainer, "faults:\n  - kind: clock-skew\n    target: service\n    offset: 1m\n",
			ErrNeedsLocal, ":5:5: fault clock-skew: skewing the service's clock needs topology inprocess or tcp"},
		{"broker clock", TopologyContainer, "faults:\n  - kind: clock-skew\n    target: broker\n    offset: 1m\n",
			ErrNeedsLocal, "skewing the broker's clock needs topology inprocess or tcp"},
		{"service-broker link", TopologyContainer, "faults:\n  - {kind: network, link: service-broker, latency: 10ms}\n",
			ErrNeedsLocal, ":5:5: fault network: the service-broker link needs topology inprocess or tcp"},
		{"broker down cuts the service-broker link", TopologyContainer, "faults:\n  - kind: broker-down\n",
			ErrNeedsLocal, "fault broker-down: the service-broker link"},
		{"key rotation", TopologyContainer, "faults:\n  - kind: key-rotation\n    start: 100ms\n",
			ErrNeedsLocal, "fault key-rotation: rotating the broker's signing key needs topology inprocess or tcp"},
		{"service build knob", TopologyContainer, "faults:\n  - kind: verifier-wrong-key\n",
			ErrNeedsLocal, "building the service with the wrong grant keys needs topology inprocess or tcp"},
		{"stream interceptor", TopologyContainer, "faults:\n  - kind: stream-interceptor-missing\n",
			ErrNeedsLocal, "building the service with no stream interceptor"},
		{"broker algorithm", TopologyContainer, "broker: {algorithm: ES256}\n",
			ErrNeedsLocal, "broker.algorithm ES256 needs topology inprocess or tcp"},
		{"container fault in process", TopologyInProcess, "faults:\n  - kind: container-kill\n    start: 1s\n",
			fakes.ErrNoContainers, ":5:5: fault container-kill: needs topology container (this run: inprocess)"},
		{"partition over tcp", TopologyTCP, "faults:\n  - kind: network-partition\n",
			fakes.ErrNoContainers, "fault network-partition: needs topology container (this run: tcp)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, path := scenarioFile(t, head+tt.body)
			_, err := Start(t.Context(), sc, tt.topo)
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), path)
		})
	}
}

// TestContainerTopologyTakesClientSideFaults: what acts on the caller
// passes the preflight of topology container.
func TestContainerTopologyTakesClientSideFaults(t *testing.T) {
	sc, _ := scenarioFile(t, `name: client-side
summary: Faults on the caller's side.
broker: {approval: reviewer}
faults:
  - {kind: clock-skew, target: client, offset: 10s}
  - {kind: network, link: client-service, latency: 5ms}
  - {kind: network, link: client-broker, reset: true, start: 1s}
  - {kind: approval, behaviour: approve}
  - {kind: credentials-missing, credential: grant, start: 1s}
  - {kind: token-mutation, case: ALG-001}
  - {kind: revoke, start: 1s}
  - {kind: broker-restart, start: 1s}
  - {kind: container-pause, start: 1s, duration: 100ms}
expect: {codes: {OK: 100%}}
`)
	assert.NoError(t, preflight(withDefaults(*sc), containerTopology{}))
}

// TestRunSkipsAContainerScenarioWithoutAnEngine: where no Docker engine
// answers, Run skips the test with one line saying so, and RunScenario's
// error wraps ErrNoEngine (which `jitbench run` reports as skipped).
func TestRunSkipsAContainerScenarioWithoutAnEngine(t *testing.T) {
	saved := pingEngine
	t.Cleanup(func() { pingEngine = saved })
	pingEngine = func(context.Context) error {
		return fmt.Errorf("%w: dial unix /var/run/docker.sock: no such file", ErrNoEngine)
	}

	sc := &scenarios.Scenario{Name: "in-a-container", Topology: TopologyContainer, Load: scenarios.LoadProfile{Calls: 1}}
	_, err := RunScenario(t.Context(), sc)
	require.ErrorIs(t, err, ErrNoEngine)

	rec := &recordingTB{TB: t}
	assert.Nil(t, Run(rec, sc))
	assert.False(t, rec.fatal)
	assert.Empty(t, rec.errors)
	require.Len(t, rec.skips, 1)
	assert.Equal(t, "scenario in-a-container: start the system on topology container: no Docker engine answers: dial unix /var/run/docker.sock: no such file", rec.skips[0])
}

// TestClusterOptionsFollowTheScenario maps a scenario's settings to the
// cluster's; the policy file it writes is one the broker's loader takes.
func TestClusterOptionsFollowTheScenario(t *testing.T) {
	sc := withDefaults(scenarios.Scenario{Name: "opts",
		Service: scenarios.Service{RevocationMode: "best_effort", MaxStaleness: 2 * time.Second, Leeway: 5 * time.Second, MaxGrantLifetime: time.Hour},
		Broker:  scenarios.Broker{AutoApprove: 50 * time.Millisecond, PolicyMethods: []string{"/demo.v1.Vault/Read"}}})
	o, err := clusterOptions(sc)
	require.NoError(t, err)
	assert.Equal(t, 50*time.Millisecond, o.AutoApprove)
	assert.Equal(t, brokerclient.BestEffort, o.RevocationMode)
	assert.Equal(t, 2*time.Second, o.MaxStaleness)
	assert.Equal(t, []string{"--leeway", "5s", "--algorithms", "EdDSA,ES256", "--max-lifetime", "1h0m0s"}, o.VaultArgs)
	p, err := policy.Parse("policy.yaml", o.Policy)
	require.NoError(t, err, "%s", o.Policy)
	assert.Equal(t, scenarioPolicy(sc), p)

	sc.Broker.Approval, sc.Service.MaxStaleness = ApprovalReviewer, 0
	o, err = clusterOptions(sc)
	require.NoError(t, err)
	assert.Zero(t, o.AutoApprove, "a scripted reviewer decides")
	assert.Equal(t, brokerclient.DefaultMaxStaleness, o.MaxStaleness, "the Vault's default, as in process")
}

// TestContainerTopologyDrivesTheCluster runs a scenario in containers with
// the parts the harness drives from the host: the scripted reviewer
// approving over the broker's API, a latency on the caller's link to the
// Vault, a skewed client clock, and a clean broker restart mid-run. The
// grant is cached, so every call passes across the restart; the approval
// and its latency come from the broker's audit log, read from its volume.
func TestContainerTopologyDrivesTheCluster(t *testing.T) {
	t.Parallel()
	requireEngine(t)
	sc := &scenarios.Scenario{Name: "drives-the-cluster", Broker: scenarios.Broker{Approval: ApprovalReviewer},
		Client: scenarios.Client{Deadline: 5 * time.Second},
		Faults: []scenarios.Fault{
			{Kind: fakes.KindApproval, Params: map[string]any{"behaviour": "approve", "after": "50ms"}},
			{Kind: fakes.KindNetwork, Params: map[string]any{"link": "client-service", "latency": "20ms"}},
			{Kind: fakes.KindClockSkew, Params: map[string]any{"target": "client", "offset": "10s"}},
			{Kind: fakes.KindBrokerRestart, Start: 200 * time.Millisecond},
		},
		Load: scenarios.LoadProfile{Calls: 6, Interval: 100 * time.Millisecond}}
	e := startEnv(t, sc, TopologyContainer)
	assert.Nil(t, e.System(), "nothing runs in this process")
	assert.ErrorIs(t, e.WithBroker(nil), ErrNeedsLocal)
	_, err := e.Containers()
	require.NoError(t, err)

	r := runEnv(t, e)
	assert.Equal(t, TopologyContainer, r.Topology)
	onlyRow(t, r, codes.OK, "", PhaseCall)
	assert.Equal(t, 1, r.Figures.Approvals, "the reviewer approved the one request, and the audit log says so")
	assert.GreaterOrEqual(t, r.Figures.ApprovalWait, 50*time.Millisecond)
	assert.Positive(t, r.Figures.GrantWait)
	for _, o := range r.Outcomes {
		assert.GreaterOrEqual(t, o.Latency, 20*time.Millisecond, "call %d went through the link's latency", o.Index)
	}
	assert.Zero(t, r.HandlerRuns)
	assert.Equal(t, []string{NoteHandlerUncounted}, r.Notes)
	assert.NotContains(t, checkNames(r), HandlerCheck, "not checked where it cannot be counted")
}

// TestContainerFaultUndoErrorsFailTheRun: an undoing operation that fails
// in a remove func (which cannot return it) still fails the run.
func TestContainerFaultUndoErrorsFailTheRun(t *testing.T) {
	e := &Env{sc: scenarios.Scenario{Name: "undo"}}
	u := undoReporter{report: e.report}
	boom := errors.New("reconnect refused")
	assert.Same(t, boom, u.reported(boom))
	assert.NoError(t, u.reported(nil))
	assert.ErrorIs(t, e.takeReported(), boom)
	assert.NoError(t, e.takeReported(), "taken once")
}
