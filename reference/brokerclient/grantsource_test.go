package brokerclient

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
)

const (
	readMethod  = "/demo.v1.Vault/Read"
	writeMethod = "/demo.v1.Vault/Write"
	service     = "demo.v1.Vault"
)

// rig is a GrantSource talking to a fake broker over bufconn.
type rig struct {
	clock  *clockwork.FakeClock
	broker *fakeBroker
	stop   func()
	sleeps *sleeps
	src    *GrantSource
}

func newRig(t *testing.T, opts ...func(*Options)) *rig {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	b := newFakeBroker(clock)
	client, stop := serveBroker(t, b)
	s := &sleeps{}
	o := Options{Service: service, Clock: clock, Retry: Retry{Source: rand.NewPCG(1, 2), Sleep: s.sleep}}
	for _, f := range opts {
		f(&o)
	}
	return &rig{clock: clock, broker: b, stop: stop, sleeps: s, src: New(client, o)}
}

// autoApprove makes the fake broker approve every new request at once, for ttl.
func (r *rig) autoApprove(ttl time.Duration) {
	r.broker.setDecide(func(ar *jitv1.AccessRequest) { approveLocked(ar, r.clock, ttl) })
}

// requireReason checks err's code, reason and metadata as a client reads them from the status.
func requireReason(t *testing.T, err error, want reason.Reason, md map[string]string) reason.Details {
	t.Helper()
	require.Error(t, err)
	d := reason.FromStatus(status.Convert(err))
	require.Equal(t, want, d.Reason, "error: %v", err)
	assert.Equal(t, want.Code(), d.Code)
	for k, v := range md {
		assert.Equal(t, v, d.Metadata[k], "metadata %s", k)
	}
	return d
}

func TestGrantDecisions(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	cases := []struct {
		name   string
		decide func(*jitv1.AccessRequest)
		steps  []step
		fail   error
		// want is the grant token, or else the reason and metadata of the error.
		want       string
		wantReason reason.Reason
		wantMD     map[string]string
		wantWatch  int
	}{
		{name: "auto-approved by policy", decide: approvedFor(clock, 5*time.Minute),
			want: "grant-req-1-r1", wantWatch: 0},
		{name: "approved on the first watch event", steps: []step{approvedFor(clock, 5*time.Minute)},
			want: "grant-req-1-r2", wantWatch: 1},
		{name: "approved after three pending watch events",
			steps: []step{reviewed("carol"), reviewed("dave"), approvedFor(clock, 5*time.Minute)},
			want:  "grant-req-1-r4", wantWatch: 1},
		{name: "denied by a reviewer", steps: []step{reviewed("carol"), deniedBy("bob", "change freeze until Monday")},
			wantReason: reason.ApprovalDenied, wantWatch: 1,
			wantMD: map[string]string{"request_id": "req-1", "state": "DENIED", "reviewer": "bob", "comment": "change freeze until Monday", "policy": "vault-readers"}},
		{name: "denied by policy", decide: toState(jitv1.State_STATE_DENIED, "policy", "outside business hours"),
			wantReason: reason.ApprovalDenied, wantWatch: 0,
			wantMD: map[string]string{"request_id": "req-1", "state": "DENIED", "reviewer": "policy", "comment": "outside business hours"}},
		{name: "expired while pending", steps: []step{toState(jitv1.State_STATE_EXPIRED, "timer", "nobody reviewed within 15m")},
			wantReason: reason.ApprovalDenied, wantWatch: 1,
			wantMD: map[string]string{"request_id": "req-1", "state": "EXPIRED", "comment": "nobody reviewed within 15m"}},
		{name: "withdrawn", steps: []step{toState(jitv1.State_STATE_WITHDRAWN, "alice", "")},
			wantReason: reason.ApprovalDenied, wantWatch: 1,
			wantMD: map[string]string{"request_id": "req-1", "state": "WITHDRAWN"}},
		{name: "NO_POLICY is returned as the broker sent it, without retrying",
			fail:       reason.New(reason.NoPolicy, "no rule covers demo.v1.Vault/Read", "service", service),
			wantReason: reason.NoPolicy, wantWatch: 0, wantMD: map[string]string{"service": service}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.broker.setDecide(tc.decide)
			r.broker.setWatch(r.broker.scripted(tc.steps...))
			if tc.fail != nil {
				r.broker.fail("RequestAccess", tc.fail)
			}

			cred, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)

			if tc.wantReason == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, cred.Token)
				assert.Equal(t, clock.Now().Add(5*time.Minute), cred.Expires)
				assert.False(t, cred.Once)
			} else {
				d := requireReason(t, err, tc.wantReason, tc.wantMD)
				if _, ok := tc.wantMD["reviewer"]; !ok {
					assert.NotContains(t, d.Metadata, "reviewer")
				}
			}
			assert.Equal(t, 1, r.broker.count("RequestAccess"))
			assert.Equal(t, tc.wantWatch, r.broker.count("Watch"))
			assert.Empty(t, r.sleeps.waits())
		})
	}
}

func TestGrantRetriesWhileBrokerUnavailable(t *testing.T) {
	cases := []struct {
		name                 string
		failing              string
		wantRequest, wantWat int
	}{
		{name: "RequestAccess fails twice", failing: "RequestAccess", wantRequest: 3, wantWat: 1},
		{name: "Watch fails twice", failing: "Watch", wantRequest: 1, wantWat: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.broker.fail(tc.failing, unavailable, unavailable)
			r.broker.setWatch(r.broker.scripted(approvedFor(r.clock, time.Minute)))

			cred, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)

			require.NoError(t, err)
			assert.Equal(t, "grant-req-1-r2", cred.Token)
			assert.Equal(t, tc.wantRequest, r.broker.count("RequestAccess"))
			assert.Equal(t, tc.wantWat, r.broker.count("Watch"))
			// Full jitter from the seeded source: the same waits as an
			// independent backoff with the same seed, each within its cap.
			same := newBackoff(Retry{Source: rand.NewPCG(1, 2)}, r.clock)
			waits := r.sleeps.waits()
			require.Len(t, waits, 2)
			for i, d := range waits {
				assert.Equal(t, same.delay(i+1), d)
				assert.LessOrEqual(t, d, r.src.backoff.ceiling(i+1))
			}
		})
	}
}

func TestGrantBrokerUnavailable(t *testing.T) {
	cases := []struct {
		name         string
		retry        Retry
		timeout      time.Duration
		wantAttempts string
		wantWaits    int
	}{
		{name: "attempts run out", retry: Retry{MaxAttempts: 3}, wantAttempts: "3", wantWaits: 2},
		{name: "the deadline ends during a backoff", retry: Retry{MaxAttempts: -1, Sleep: expireDuringBackoff},
			wantAttempts: "1"},
		{name: "the next backoff would pass the deadline", retry: Retry{MaxAttempts: -1, Initial: time.Hour, Max: time.Hour},
			timeout: 5 * time.Second, wantAttempts: "1", wantWaits: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(o *Options) {
				sleep := o.Retry.Sleep
				o.Retry = tc.retry
				o.Retry.Source = rand.NewPCG(1, 2)
				if o.Retry.Sleep == nil {
					o.Retry.Sleep = sleep
				}
			})
			if tc.retry.Initial == time.Hour {
				// Precondition: the seeded draw really is longer than the deadline.
				require.Greater(t, newBackoff(Retry{Initial: time.Hour, Max: time.Hour, Source: rand.NewPCG(1, 2)}, r.clock).delay(1), tc.timeout)
			}
			r.stop() // the broker is down: the listener is closed

			ctx := newDeadlineCtx(t)
			if tc.timeout > 0 {
				ctx.deadline = time.Now().Add(tc.timeout)
			}
			_, err := r.src.Grant(ctx, readMethod)

			d := requireReason(t, err, reason.BrokerUnavailable, map[string]string{"attempts": tc.wantAttempts})
			assert.Equal(t, codes.Unavailable, status.Code(err))
			assert.Contains(t, d.Metadata["last_error"], "UNAVAILABLE: ")
			assert.Len(t, r.sleeps.waits(), tc.wantWaits)
		})
	}
}

// Nobody answers: a real 50 ms deadline ends the wait with APPROVAL_PENDING.
func TestGrantNeverAnsweredEndsAtTheDeadline(t *testing.T) {
	r := newRig(t)

	_, err := r.src.Grant(withTimeout(t, 50*time.Millisecond), readMethod)

	d := requireReason(t, err, reason.ApprovalPending, nil)
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	waited, perr := time.ParseDuration(d.Metadata["waited"])
	require.NoError(t, perr)
	deadline, perr := time.ParseDuration(d.Metadata["deadline"])
	require.NoError(t, perr)
	assert.LessOrEqual(t, deadline, 50*time.Millisecond, "the call's own budget, never extended")
	assert.Greater(t, deadline, 25*time.Millisecond)
	assert.GreaterOrEqual(t, waited, deadline-time.Millisecond, "the whole budget was spent waiting")
}

// The broker went away while the request was watched: the request stays
// open there, and the next call resumes it.
func TestGrantWatchOutageKeepsTheRequest(t *testing.T) {
	r := newRig(t, func(o *Options) { o.Retry.MaxAttempts = 3 })
	r.broker.setWatch(r.broker.scripted()) // pending, nobody answers
	r.broker.fail("Watch", unavailable, unavailable, unavailable)

	_, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)

	requireReason(t, err, reason.BrokerUnavailable, map[string]string{"attempts": "3", "request_id": "req-1"})
	r.broker.setWatch(nil)
	r.broker.approve("req-1", 5*time.Minute)
	cred, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)
	require.NoError(t, err)
	assert.Equal(t, "grant-req-1-r1", cred.Token)
	assert.Equal(t, 1, r.broker.count("RequestAccess"))
}

func TestGrantPendingIsResumedByTheNextCall(t *testing.T) {
	r := newRig(t) // nobody answers

	err := r.pendingUntilDeadline(t, readMethod)

	d := requireReason(t, err, reason.ApprovalPending, map[string]string{"request_id": "req-1"})
	assert.Contains(t, d.Message, "stays open")

	// The request stayed open; a reviewer approves it after the first call gave up.
	r.broker.approve("req-1", 5*time.Minute)
	cred, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)

	require.NoError(t, err)
	assert.Equal(t, "grant-req-1-r1", cred.Token)
	assert.Equal(t, 1, r.broker.count("RequestAccess"), "the pending request is resumed, not opened again")
	assert.Equal(t, 2, r.broker.count("Watch"))
}

func TestGrantResumedRequestGoneOpensANewOne(t *testing.T) {
	cases := []struct {
		name   string
		change func(r *rig)
	}{
		{name: "the broker lost it", change: func(r *rig) { r.broker.forget("req-1") }},
		{name: "its grant ended meanwhile", change: func(r *rig) { r.broker.setState("req-1", jitv1.State_STATE_ENDED) }},
		{name: "its grant expired meanwhile", change: func(r *rig) {
			r.broker.approve("req-1", time.Minute)
			r.clock.Advance(2 * time.Minute)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			err := r.pendingUntilDeadline(t, readMethod)
			requireReason(t, err, reason.ApprovalPending, map[string]string{"request_id": "req-1"})
			tc.change(r)
			r.autoApprove(5 * time.Minute)

			cred, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)

			require.NoError(t, err)
			assert.Equal(t, "grant-req-2-r1", cred.Token)
			assert.Equal(t, 2, r.broker.count("RequestAccess"))
		})
	}
}

// TestGrantEndedBeforeUseIsAskedAgain: a request approved while its caller
// could not hear (a broker outage), whose grant ended before the caller saw
// it, is no denial: the source asks again, a bounded number of times.
func TestGrantEndedBeforeUseIsAskedAgain(t *testing.T) {
	t.Run("asked again", func(t *testing.T) {
		r := newRig(t)
		n := 0
		r.broker.setDecide(func(ar *jitv1.AccessRequest) {
			n++
			approveLocked(ar, r.clock, 5*time.Minute)
			if n == 1 {
				ar.State = jitv1.State_STATE_ENDED
			}
		})
		cred, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)
		require.NoError(t, err)
		assert.Equal(t, "grant-req-2-r1", cred.Token)
		assert.Equal(t, 2, r.broker.count("RequestAccess"))
	})
	t.Run("bounded", func(t *testing.T) {
		r := newRig(t)
		r.broker.setDecide(func(ar *jitv1.AccessRequest) {
			approveLocked(ar, r.clock, 5*time.Minute)
			ar.State = jitv1.State_STATE_ENDED
		})
		_, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)
		requireReason(t, err, reason.ApprovalDenied, nil)
		assert.Equal(t, 1+maxReasks, r.broker.count("RequestAccess"))
	})
}

func TestGrantIsCachedAndRenewedNearExpiry(t *testing.T) {
	r := newRig(t) // RenewBefore defaults to 30 s
	// The policy auto-approves; otherwise renewal would wait for a reviewer again.
	r.autoApprove(5 * time.Minute)
	ctx := withTimeout(t, 5*time.Second)

	first, err := r.src.Grant(ctx, readMethod)
	require.NoError(t, err)

	r.clock.Advance(5*time.Minute - 31*time.Second) // 31 s left: still beyond RenewBefore
	again, err := r.src.Grant(ctx, readMethod)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, 1, r.broker.count("RequestAccess"))

	r.clock.Advance(2 * time.Second) // 29 s left: renew
	renewed, err := r.src.Grant(ctx, readMethod)
	require.NoError(t, err)
	assert.Equal(t, "grant-req-2-r1", renewed.Token)
	assert.Equal(t, r.clock.Now().Add(5*time.Minute), renewed.Expires)
	assert.Equal(t, 2, r.broker.count("RequestAccess"))
}

func TestGrantOneShotIsNeverCached(t *testing.T) {
	r := newRig(t, func(o *Options) { o.OneShot = true })
	r.autoApprove(time.Minute)
	ctx := withTimeout(t, 5*time.Second)

	a, err := r.src.Grant(ctx, readMethod)
	require.NoError(t, err)
	b, err := r.src.Grant(ctx, readMethod)
	require.NoError(t, err)

	assert.True(t, a.Once)
	assert.True(t, b.Once)
	assert.NotEqual(t, a.Token, b.Token)
	assert.Equal(t, 2, r.broker.count("RequestAccess"))
	assert.True(t, r.broker.request("req-1").GetOneShot(), "the request asks for a one-shot grant")
}

func TestGrantConcurrentCallersShareOneRequest(t *testing.T) {
	r := newRig(t)
	key := r.src.scopeOf(readMethod).key
	const callers = 10
	var wg sync.WaitGroup
	creds := make([]interceptor.Credential, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { creds[i], errs[i] = r.src.Grant(withTimeout(t, 5*time.Second), readMethod) })
	}
	require.Eventually(t, func() bool {
		return r.src.flights.callers(key) == callers && r.broker.count("Watch") == 1
	}, 5*time.Second, time.Millisecond)

	r.broker.approve("req-1", 5*time.Minute)
	wg.Wait()

	for i := range callers {
		require.NoError(t, errs[i])
		assert.Equal(t, "grant-req-1-r1", creds[i].Token)
	}
	assert.Equal(t, 1, r.broker.count("RequestAccess"))
}

func TestGrantFollowerOutlivesTheLeadersDeadline(t *testing.T) {
	r := newRig(t)
	key := r.src.scopeOf(readMethod).key
	leaderCtx := newDeadlineCtx(t)
	leaderErr := make(chan error, 1)
	go func() {
		_, err := r.src.Grant(leaderCtx, readMethod)
		leaderErr <- err
	}()
	require.Eventually(t, func() bool { return r.src.flights.callers(key) == 1 && r.broker.count("Watch") == 1 }, 5*time.Second, time.Millisecond)
	type result struct {
		cred interceptor.Credential
		err  error
	}
	follower := make(chan result, 1)
	go func() {
		c, err := r.src.Grant(withTimeout(t, 5*time.Second), readMethod)
		follower <- result{c, err}
	}()
	require.Eventually(t, func() bool { return r.src.flights.callers(key) == 2 }, 5*time.Second, time.Millisecond)

	leaderCtx.expire()
	requireReason(t, <-leaderErr, reason.ApprovalPending, map[string]string{"request_id": "req-1"})
	r.broker.approve("req-1", 5*time.Minute)
	got := <-follower

	require.NoError(t, got.err)
	assert.Equal(t, "grant-req-1-r1", got.cred.Token)
	assert.Equal(t, 1, r.broker.count("RequestAccess"))
}

func TestGrantScopeAndRequestFields(t *testing.T) {
	r := newRig(t, func(o *Options) {
		o.ScopeFor = func(string) *jitv1.Scope {
			return &jitv1.Scope{Methods: []string{"/demo.v1.Vault/*"}, Resource: "secrets/*"}
		}
		o.Justification = "INC-1234"
		o.Duration = 10 * time.Minute
	})
	r.autoApprove(10 * time.Minute)
	ctx := withTimeout(t, 5*time.Second)

	read, err := r.src.Grant(ctx, readMethod)
	require.NoError(t, err)
	write, err := r.src.Grant(ctx, writeMethod)
	require.NoError(t, err)

	assert.Equal(t, read, write, "methods mapped to one scope share its grant")
	require.Equal(t, 1, r.broker.count("RequestAccess"))
	req := r.broker.request("req-1")
	assert.Equal(t, service, req.GetScope().GetService(), "the service is filled in")
	assert.Equal(t, "secrets/*", req.GetScope().GetResource())
	assert.Equal(t, "INC-1234", req.GetJustification())
	assert.Equal(t, 10*time.Minute, req.GetDuration().AsDuration())
	assert.False(t, req.GetOneShot())
}

// Through interceptor.Credentials a broker outage reaches the caller as
// UNAVAILABLE with its reason, not as UNAUTHENTICATED.
func TestGrantOutageThroughCredentials(t *testing.T) {
	r := newRig(t, func(o *Options) { o.Retry.MaxAttempts = 2 })
	r.stop()
	creds := interceptor.NewCredentials(interceptor.ClientConfig{Grants: r.src, Insecure: true, Clock: r.clock})
	ctx := credentials.NewContextWithRequestInfo(withTimeout(t, 5*time.Second), credentials.RequestInfo{Method: readMethod})

	_, err := creds.GetRequestMetadata(ctx)

	requireReason(t, err, reason.BrokerUnavailable, map[string]string{"attempts": "2"})
}

// A cancelled call is reported as cancelled; its request stays open for the next one.
func TestGrantCancelled(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.src.Grant(ctx, readMethod)
		done <- err
	}()
	require.Eventually(t, func() bool { return r.broker.count("Watch") == 1 }, 5*time.Second, time.Millisecond)

	cancel() // the caller gives up while the request is watched

	assert.Equal(t, codes.Canceled, status.Code(<-done))
	assert.Equal(t, "req-1", r.src.pending.take(r.src.scopeOf(readMethod).key))
}
