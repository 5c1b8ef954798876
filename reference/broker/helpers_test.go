package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/token"
)

// Services and methods of the test policy.
const (
	vault     = "demo.v1.Vault"
	vaultRead = "/demo.v1.Vault/Read"
	vaultWrit = "/demo.v1.Vault/Write"
	autoSvc   = "auto.v1.Svc"
	autoGet   = "/auto.v1.Svc/Get"
)

// Policy timings.
const (
	readMax     = time.Hour
	readPending = 15 * time.Minute
	autoDelay   = 50 * time.Millisecond
)

// Callers of the tests: alice requests, bob and carol are SREs (approvers of
// every rule), dave is in security (the second approver group of writes),
// eve is nobody, sam is an SRE who requests (and so cannot approve his own).
var (
	alice = broker.Caller{Subject: "alice", Groups: []string{"dev"}}
	bob   = broker.Caller{Subject: "bob", Groups: []string{"sre"}}
	carol = broker.Caller{Subject: "carol", Groups: []string{"sre"}}
	dave  = broker.Caller{Subject: "dave", Groups: []string{"security"}}
	eve   = broker.Caller{Subject: "eve"}
	sam   = broker.Caller{Subject: "sam", Groups: []string{"sre"}}
	oscar = broker.Caller{Subject: "oscar", Groups: []string{"oncall"}}
)

// testPolicy: reads need one SRE, writes two of sre/security, and the auto
// service approves on-call engineers at once and developers after autoDelay.
func testPolicy() *policy.Policy {
	return &policy.Policy{Rules: []policy.Rule{
		{
			Name:      "vault-read",
			Match:     policy.Match{Service: vault, Methods: []string{vaultRead}},
			Approvers: []string{"sre"}, Approvals: 1,
			MaxDuration: readMax, PendingTimeout: readPending,
		},
		{
			Name:      "vault-write",
			Match:     policy.Match{Service: vault, Methods: []string{vaultWrit}},
			Approvers: []string{"sre", "security"}, Approvals: 2,
			MaxDuration: 30 * time.Minute, PendingTimeout: 10 * time.Minute,
		},
		{
			Name:      "auto",
			Match:     policy.Match{Service: autoSvc, Methods: []string{"/auto.v1.Svc/*"}},
			Approvers: []string{"sre"}, Approvals: 1,
			MaxDuration: 10 * time.Minute, PendingTimeout: 5 * time.Minute,
			AutoApprove: []policy.AutoApprove{
				{Groups: []string{"oncall"}, Methods: []string{autoGet}},
				{Groups: []string{"dev"}, Methods: []string{autoGet}, After: autoDelay},
			},
		},
	}}
}

// fixture is a broker on a memory store with a fake clock.
type fixture struct {
	t      testing.TB
	clock  *clockwork.FakeClock
	store  store.Store
	policy *policy.Policy
	issuer *token.Issuer
	b      *broker.Broker
}

// start is the fake clock's origin: a fixed instant keeps messages stable.
var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type option func(*broker.Config)

func newFixture(t testing.TB, opts ...option) *fixture {
	t.Helper()
	clock := clockwork.NewFakeClockAt(start)
	f := &fixture{
		t:      t,
		clock:  clock,
		store:  store.NewMemory(),
		policy: testPolicy(),
		issuer: token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clock),
	}
	f.b = f.open(opts...)
	t.Cleanup(func() { _ = f.store.Close() })
	return f
}

// open starts a broker on the fixture's store, clock and issuer.
func (f *fixture) open(opts ...option) *broker.Broker {
	f.t.Helper()
	cfg := broker.Config{Store: f.store, Policy: f.policy, Issuer: f.issuer, Clock: f.clock, HeartbeatInterval: time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := broker.New(cfg)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = b.Close() })
	return b
}

// ctx is a test context that cannot hang a run.
func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	f.t.Cleanup(cancel)
	return ctx
}

// read asks for reading the vault, with duration d (zero: the policy's cap).
func read(d time.Duration) *jitv1.RequestAccessRequest {
	in := &jitv1.RequestAccessRequest{
		Scope:         &jitv1.Scope{Service: vault, Methods: []string{vaultRead}},
		Justification: "incident 42",
	}
	if d != 0 {
		in.Duration = durationpb.New(d)
	}
	return in
}

// write asks for writing the vault (two approvals).
func write() *jitv1.RequestAccessRequest {
	return &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: vault, Methods: []string{vaultWrit}}}
}

// request opens a request for c and returns it.
func (f *fixture) request(c broker.Caller, in *jitv1.RequestAccessRequest) *jitv1.AccessRequest {
	f.t.Helper()
	r, err := f.b.RequestAccess(f.ctx(), c, in)
	require.NoError(f.t, err)
	return r
}

func (f *fixture) review(c broker.Caller, id string, d jitv1.Decision) (*jitv1.AccessRequest, error) {
	return f.b.Review(f.ctx(), c, &jitv1.ReviewRequest{Id: id, Decision: d, Comment: "ok by " + c.Subject})
}

func (f *fixture) approve(c broker.Caller, id string) (*jitv1.AccessRequest, error) {
	return f.review(c, id, jitv1.Decision_DECISION_APPROVE)
}

func (f *fixture) deny(c broker.Caller, id string) (*jitv1.AccessRequest, error) {
	return f.review(c, id, jitv1.Decision_DECISION_DENY)
}

func (f *fixture) withdraw(c broker.Caller, id string) (*jitv1.AccessRequest, error) {
	return f.b.Withdraw(f.ctx(), c, &jitv1.WithdrawRequest{Id: id, Comment: "not needed"})
}

func (f *fixture) revoke(c broker.Caller, id string) (*jitv1.AccessRequest, error) {
	return f.b.Revoke(f.ctx(), c, &jitv1.RevokeRequest{Id: id, Comment: "done"})
}

// watch follows id as c; revisions arrive on the returned channel, and the
// Watch call's result on the error channel once it ends.
func (f *fixture) watch(c broker.Caller, id string) (<-chan *jitv1.AccessRequest, <-chan error) {
	revs := make(chan *jitv1.AccessRequest, 64)
	done := make(chan error, 1)
	ctx := f.ctx()
	go func() {
		done <- f.b.Watch(ctx, c, id, func(r *jitv1.AccessRequest) error {
			revs <- r
			return nil
		})
	}()
	return revs, done
}

// next receives one revision, failing the test if none comes: it waits for
// goroutines (timer callbacks), never for time to pass.
func next[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing arrived")
		panic("unreachable")
	}
}

// waitState receives revisions until one is in state want.
func waitState(t testing.TB, ch <-chan *jitv1.AccessRequest, want jitv1.State) *jitv1.AccessRequest {
	t.Helper()
	for {
		r := next(t, ch)
		if r.GetState() == want {
			return r
		}
	}
}

// waitTimers blocks until the fake clock has n timers besides the heartbeat ticker.
func (f *fixture) waitTimers(n int) {
	f.t.Helper()
	require.NoError(f.t, f.clock.BlockUntilContext(f.ctx(), n+1))
}

// codeOf is the gRPC code of err.
func codeOf(err error) codes.Code { return status.Code(err) }

// audit returns every audit record of the fixture's store about id.
func (f *fixture) audit(id string) []store.AuditRecord {
	f.t.Helper()
	var out []store.AuditRecord
	require.NoError(f.t, f.b.Audit(0, func(r store.AuditRecord) bool {
		if id == "" || r.RequestID == id {
			out = append(out, r)
		}
		return true
	}))
	return out
}

// actions lists the actions of records, for compact assertions.
func actions(recs []store.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s %s>%s by %s", r.Action, r.From, r.To, r.Actor)
	}
	return out
}
