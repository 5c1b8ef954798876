package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/fakes"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/scenarios"
)

// localTopologies run the system in this process.
var localTopologies = []string{TopologyInProcess, TopologyTCP}

// startEnv starts sc (with extra faults) and closes it when the test ends.
func startEnv(t *testing.T, sc *scenarios.Scenario, topo string, extra ...fakes.Fault) *Env {
	t.Helper()
	within := 10 * time.Second
	if topo == TopologyContainer {
		within = 5 * time.Minute // the first start builds the binary and the images
	}
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	e, err := start(ctx, sc, topo, startOptions{extra: extra})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close()) })
	return e
}

// runEnv runs e's load and returns its report.
func runEnv(t *testing.T, e *Env) *Report {
	t.Helper()
	rec, err := e.Run(t.Context())
	require.NoError(t, err)
	sc := e.Scenario()
	return Evaluate(&sc, e.Topology(), rec)
}

// only asserts that every call of r got code and reason in phase, and the handler ran exactly for OK calls.
func only(t *testing.T, r *Report, code codes.Code, why reason.Reason, phase string) {
	t.Helper()
	onlyRow(t, r, code, why, phase)
	assert.True(t, checkNamed(t, r, HandlerCheck).Pass, "%+v", checkNamed(t, r, HandlerCheck))
}

// onlyRow asserts that every call of r got code and reason in phase.
func onlyRow(t *testing.T, r *Report, code codes.Code, why reason.Reason, phase string) {
	t.Helper()
	require.Len(t, r.Rows, 1, "%+v", r.Rows)
	assert.Equal(t, Row{Code: reason.CodeName(code), Reason: string(why), Phase: phase, Count: r.Calls, Share: "100%", P50: r.Rows[0].P50}, r.Rows[0])
}

// TestStartRunsTheWholeSystemOnEveryTopology covers the topologies in this
// process; TestContainerTopologyDrivesTheCluster covers topology container.
func TestStartRunsTheWholeSystemOnEveryTopology(t *testing.T) {
	for _, topo := range localTopologies {
		t.Run(topo, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, &scenarios.Scenario{Name: "baseline", Load: scenarios.LoadProfile{Calls: 5, Concurrency: 2}}, topo)
			r := runEnv(t, e)
			assert.Equal(t, topo, r.Topology)
			only(t, r, codes.OK, "", PhaseCall)
			assert.EqualValues(t, 5, r.HandlerRuns)
			assert.Empty(t, r.Notes)
			assert.Equal(t, 1, r.Figures.Approvals, "one access request serves every call: the grant is cached")
			assert.Positive(t, r.Figures.GrantWait)
		})
	}
}

func TestStartRefusesWhatItCannotRun(t *testing.T) {
	_, err := Start(t.Context(), nil, "")
	require.Error(t, err)
	_, err = Start(t.Context(), &scenarios.Scenario{Name: "x"}, "moon")
	require.ErrorContains(t, err, `topology "moon"`)
	_, err = Start(t.Context(), &scenarios.Scenario{Name: "x", Faults: []scenarios.Fault{{Kind: "no-such-fault"}}}, "")
	require.ErrorContains(t, err, "no-such-fault")
}

// TestClientKnobsApplyPerCall drives each client knob and checks the
// reference answers with the code and reason the knob provokes.
func TestClientKnobsApplyPerCall(t *testing.T) {
	tests := []struct {
		name   string
		set    func(*fakes.ClientSettings)
		code   codes.Code
		reason reason.Reason
	}{
		{"identity omitted", func(s *fakes.ClientSettings) { s.OmitIdentity = true }, codes.Unauthenticated, reason.IdentityMissing},
		{"grant omitted", func(s *fakes.ClientSettings) { s.OmitGrant = true }, codes.PermissionDenied, reason.GrantMissing},
		{"omitted on streams, a stream", func(s *fakes.ClientSettings) {
			s.OmitOnStreams, s.Method = true, demov1.Vault_List_FullMethodName
		}, codes.Unauthenticated, reason.IdentityMissing},
		{"omitted on streams, a unary call", func(s *fakes.ClientSettings) { s.OmitOnStreams = true }, codes.OK, ""},
		{"grant mutated", func(s *fakes.ClientSettings) {
			s.Mutate = func(cred, tok string) string {
				if cred == "grant" {
					return strings.ToUpper(tok[:10]) + "!!" + tok[10:]
				}
				return tok
			}
		}, codes.PermissionDenied, reason.GrantMalformed},
		{"another method", func(s *fakes.ClientSettings) { s.Method = demov1.Vault_Write_FullMethodName }, codes.PermissionDenied, reason.GrantScopeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, &scenarios.Scenario{Name: "knobs", Load: scenarios.LoadProfile{Calls: 3}}, "")
			e.Client().Update(tt.set)
			only(t, runEnv(t, e), tt.code, tt.reason, PhaseCall)
		})
	}
}

func TestStreamsWithoutTheirInterceptorLeak(t *testing.T) {
	sc := &scenarios.Scenario{Name: "leak", Client: scenarios.Client{Method: demov1.Vault_List_FullMethodName}, Load: scenarios.LoadProfile{Calls: 2}}
	e := startEnv(t, sc, "", staticFault(func(env fakes.Env) {
		env.Service().Update(func(s *fakes.ServiceSettings) { s.NoStreamInterceptor = true })
	}))
	e.Client().Update(func(s *fakes.ClientSettings) { s.OmitOnStreams = true })
	r := runEnv(t, e)
	only(t, r, codes.OK, "", PhaseCall)
	assert.EqualValues(t, 2, r.HandlerRuns, "the handler ran without any credential")
}

func TestServiceKnobsShapeTheVerifier(t *testing.T) {
	tests := []struct {
		name   string
		set    func(*fakes.ServiceSettings)
		reason reason.Reason
	}{
		{"wrong algorithm list", func(s *fakes.ServiceSettings) { s.Algorithms = []string{"ES256"} }, reason.GrantAlgMismatch},
		{"wrong keys", func(s *fakes.ServiceSettings) { s.WrongGrantKeys = true }, reason.GrantUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, &scenarios.Scenario{Name: "svc", Load: scenarios.LoadProfile{Calls: 2}}, "",
				staticFault(func(env fakes.Env) { env.Service().Update(tt.set) }))
			only(t, runEnv(t, e), codes.PermissionDenied, tt.reason, PhaseCall)
		})
	}
}

// staticFault is a fault that shapes the build, as the registry's static kinds do.
type staticFault func(env fakes.Env)

func (f staticFault) Apply(env fakes.Env) (func(), error) { f(env); return func() {}, nil }
func (f staticFault) Static() bool                        { return true }

func TestReviewerAppliesTheApproversDecisions(t *testing.T) {
	tests := []struct {
		name     string
		decision fakes.Decision
		deadline time.Duration
		code     codes.Code
		reason   reason.Reason
		phase    string
	}{
		{"approve after a delay", fakes.Decision{Approve: true, After: 30 * time.Millisecond}, 2 * time.Second, codes.OK, "", PhaseCall},
		{"deny", fakes.Decision{Comment: "not today"}, 2 * time.Second, codes.PermissionDenied, reason.ApprovalDenied, PhaseGrant},
		{"never answer", fakes.Decision{Never: true}, 500 * time.Millisecond, codes.DeadlineExceeded, reason.ApprovalPending, PhaseGrant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := &scenarios.Scenario{Name: "review", Broker: scenarios.Broker{Approval: ApprovalReviewer},
				Client: scenarios.Client{Deadline: tt.deadline}, Load: scenarios.LoadProfile{Calls: 1}}
			e := startEnv(t, sc, "")
			e.Broker().SetApprover(fakes.ApproverFunc(func(*jitv1.AccessRequest) fakes.Decision { return tt.decision }))
			r := runEnv(t, e)
			only(t, r, tt.code, tt.reason, tt.phase)
			if tt.code == codes.OK {
				assert.Equal(t, 1, r.Figures.Approvals)
				assert.GreaterOrEqual(t, r.Figures.ApprovalWait, 30*time.Millisecond)
			}
		})
	}
}

// TestRetriesShareOrExtendTheDeadline reproduces the seed articles' retry
// bug: approval takes 150 ms, each call has 100 ms; retrying within the
// first deadline fails at once (all 21 attempts, whatever the load: every
// retry finds the deadline spent), retrying with a fresh one succeeds once
// the approval lands. The first attempt cannot outlive a 150 ms approval
// with 100 ms; 20 retries give the approval 2 s to land, room enough on a
// loaded machine (3 retries, 400 ms, were not).
func TestRetriesShareOrExtendTheDeadline(t *testing.T) {
	const retries = 20
	tests := []struct {
		name               string
		extend             bool
		code               codes.Code
		reason             reason.Reason
		minTries, maxTries int
	}{
		{"retries share the deadline", false, codes.DeadlineExceeded, reason.ApprovalPending, retries + 1, retries + 1},
		{"retries extend the deadline", true, codes.OK, "", 2, retries + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := &scenarios.Scenario{Name: "retry", Broker: scenarios.Broker{Approval: ApprovalReviewer},
				Client: scenarios.Client{Deadline: 100 * time.Millisecond}, Load: scenarios.LoadProfile{Calls: 1}}
			e := startEnv(t, sc, "")
			e.Broker().SetApprover(fakes.ApproverFunc(func(*jitv1.AccessRequest) fakes.Decision {
				return fakes.Decision{Approve: true, After: 150 * time.Millisecond}
			}))
			e.Client().Update(func(s *fakes.ClientSettings) { s.Retries, s.ExtendDeadlineOnRetry = retries, tt.extend })
			r := runEnv(t, e)
			phase := PhaseGrant
			if tt.code == codes.OK {
				phase = PhaseCall
			}
			only(t, r, tt.code, tt.reason, phase)
			assert.GreaterOrEqual(t, r.Outcomes[0].Attempts, tt.minTries)
			assert.LessOrEqual(t, r.Outcomes[0].Attempts, tt.maxTries)
		})
	}
}

func TestBrokerControl(t *testing.T) {
	t.Run("revoke active", func(t *testing.T) {
		t.Parallel()
		e := startEnv(t, &scenarios.Scenario{Name: "revoke", Load: scenarios.LoadProfile{Calls: 1}}, "")
		only(t, runEnv(t, e), codes.OK, "", PhaseCall)
		n, err := e.Broker().RevokeActive(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		require.Eventually(t, func() bool {
			return Do(t.Context(), e.ServiceConn(), Call{Method: demov1.Vault_Read_FullMethodName, Path: DefaultResource}).Reason == reason.GrantRevoked
		}, 5*time.Second, 5*time.Millisecond, "the cached grant is refused once its revocation reaches the service")
	})
	t.Run("rotate key", func(t *testing.T) {
		t.Parallel()
		e := startEnv(t, &scenarios.Scenario{Name: "rotate", Load: scenarios.LoadProfile{Calls: 1}}, "")
		kid, err := e.Broker().RotateKey(t.Context())
		require.NoError(t, err)
		assert.Contains(t, kid, "-rotated-1", "RotateKey says which key it made current")
		require.NoError(t, e.WithBroker(func(sys *stack.System) error {
			doc, err := sys.Broker.Keys()
			assert.Contains(t, string(doc), kid)
			return err
		}))
	})
	t.Run("restart", func(t *testing.T) {
		t.Parallel()
		for _, topo := range localTopologies {
			e := startEnv(t, &scenarios.Scenario{Name: "restart", Load: scenarios.LoadProfile{Calls: 2}}, topo)
			only(t, runEnv(t, e), codes.OK, "", PhaseCall)
			var before *jitv1.AccessRequest
			require.NoError(t, e.WithBroker(func(sys *stack.System) error {
				list, err := sys.Broker.ListRequests(t.Context(), e.reviewer.caller, &jitv1.ListRequestsRequest{})
				if err == nil && assert.Len(t, list.GetRequests(), 1) {
					before = list.GetRequests()[0]
				}
				return err
			}))
			down, err := e.Broker().Restart(t.Context())
			require.NoError(t, err, topo)
			assert.Positive(t, down, "Restart says how long the broker was down")
			n, err := e.Broker().RevokeActive(t.Context())
			require.NoError(t, err, "the restarted broker serves the same store")
			assert.Equal(t, 1, n, topo)
			require.NoError(t, e.WithBroker(func(sys *stack.System) error {
				got, err := sys.Broker.GetRequest(t.Context(), e.reviewer.caller, before.GetId())
				assert.Equal(t, jitv1.State_STATE_REVOKED, got.GetState())
				return err
			}))
		}
	})
}
