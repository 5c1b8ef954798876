package load_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/jitbench/jitbench/harness/load"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// TestPendingGuardStopsARunNobodyApproves is issue 15's silent hang: a
// load run against a broker with no auto-approval waits on every grant.
// The guard finds it stuck after three checks on its (fake) clock with
// every worker's request pending and nothing decided, and Abort ends the
// run at once: no call waits out its hour-long deadline.
func TestPendingGuardStopsARunNobodyApproves(t *testing.T) {
	const workers = 4
	ref, conns := startReference(t, 0) // no auto-approval: a reviewer would have to decide
	id, err := token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil).
		Identity(token.IdentitySpec{Subject: "alice", Audience: stack.BrokerAudience, TTL: time.Hour})
	require.NoError(t, err)
	brokerConn, err := ref.BrokerConn(id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = brokerConn.Close() })

	var watch load.ApprovalWatch
	method := demov1.Vault_Read_FullMethodName
	creds, err := load.NewGrants(load.GrantConfig{Mode: load.Renew, Method: method,
		Identity: stack.DevMinting("alice", time.Hour, nil),
		Source:   load.PerWorkerBroker(watch.Client(jitv1.NewBrokerClient(brokerConn)), brokerclient.Options{Service: token.DevAudience})})
	require.NoError(t, err)
	req, err := proto.Marshal(&demov1.ReadRequest{Path: "secrets/db/password"})
	require.NoError(t, err)
	target, err := load.NewMethod(conns, method, req, false)
	require.NoError(t, err)
	g := newGen(t, load.Options{Target: target, Credentials: creds, Concurrency: workers, Calls: 100, Deadline: time.Hour})

	fc := clockwork.NewFakeClock()
	stuck := make(chan load.Stuck, 1)
	guard := load.StartPendingGuard(g, load.PendingOptions{Approvals: &watch, Clock: fc, OnStuck: func(s load.Stuck) {
		stuck <- s
		g.Abort(load.ErrApprovalsPending)
	}})
	defer guard.Stop()
	type outcome struct {
		calls int64
		err   error
	}
	ran := make(chan outcome, 1)
	go func() {
		res, err := g.Run(t.Context())
		ran <- outcome{res.Calls, err}
	}()

	// Every worker's request is pending at the broker; then three checks.
	require.Eventually(t, func() bool { return watch.Counts().Waiting == workers }, 10*time.Second, time.Millisecond)
	for range load.DefaultPendingChecks {
		require.NoError(t, fc.BlockUntilContext(t.Context(), 1))
		fc.Advance(load.DefaultPendingEvery)
	}
	s := <-stuck
	assert.Equal(t, load.Stuck{Waiting: workers, For: 3 * time.Second}, s)
	out := <-ran
	require.ErrorIs(t, out.err, load.ErrApprovalsPending)
	assert.Zero(t, out.calls, "the calls cut short are left out of the result")
	assert.EqualValues(t, workers, g.Stats().Abandoned)
	assert.Zero(t, watch.Counts().Waiting, "the aborted calls stopped watching")
}

// TestStalledOnApproval is the guard's rule, check by check.
func TestStalledOnApproval(t *testing.T) {
	four := load.ApprovalCounts{Waiting: 4, Pending: 4}
	stuck := load.GuardView{Approvals: four, InFlight: 4}
	for _, tt := range []struct {
		name      string
		prev, cur load.GuardView
		want      bool
	}{
		{"every call waits on a pending request", stuck, stuck, true},
		{"nothing pending", load.GuardView{InFlight: 4}, load.GuardView{InFlight: 4}, false},
		{"a decision", stuck, load.GuardView{Approvals: load.ApprovalCounts{Waiting: 4, Pending: 5, Decided: 1}, InFlight: 4}, false},
		{"a call passed", load.GuardView{Approvals: four, InFlight: 4, OK: 10}, load.GuardView{Approvals: four, InFlight: 4, OK: 11}, false},
		{"some calls elsewhere: a broker slow to answer", stuck, load.GuardView{Approvals: load.ApprovalCounts{Waiting: 1, Pending: 4}, InFlight: 4}, false},
		{"calls ran out of time waiting, nothing else ended", load.GuardView{PendingCalls: 3, Done: 3}, load.GuardView{PendingCalls: 7, Done: 7}, true},
		{"other calls ended too", load.GuardView{PendingCalls: 3, Done: 3}, load.GuardView{PendingCalls: 7, Done: 9}, false},
		{"failing calls, no approval involved", load.GuardView{Done: 5}, load.GuardView{Done: 9, InFlight: 2}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, load.StalledOnApproval(tt.prev, tt.cur))
		})
	}
}

// A run that waits on no approval is never stuck, however slow its calls.
func TestPendingGuardQuietOnAHealthyRun(t *testing.T) {
	release := make(chan struct{})
	g := newGen(t, load.Options{Target: load.TargetFunc(func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}), Concurrency: 1, Calls: 1})
	var watch load.ApprovalWatch
	fc := clockwork.NewFakeClock()
	guard := load.StartPendingGuard(g, load.PendingOptions{Approvals: &watch, Clock: fc, OnStuck: func(load.Stuck) {
		t.Error("a run waiting on no approval is not stuck")
	}})
	results, done := runAsync(t, g)
	for range 2 * load.DefaultPendingChecks {
		require.NoError(t, fc.BlockUntilContext(t.Context(), 1))
		fc.Advance(load.DefaultPendingEvery)
	}
	close(release)
	<-done
	assert.EqualValues(t, 1, (<-results).Calls)
	guard.Stop()
	guard.Stop() // twice is fine
}
