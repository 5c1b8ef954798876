package measure_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/harness/measure"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// lateRevocations is a revocation list whose entries take effect delay
// after the revoke endpoint records them, as a list a service polls would.
type lateRevocations struct {
	delay time.Duration
	mu    sync.Mutex
	at    map[string]time.Time
}

// Check refuses jti once delay has passed since it was revoked.
func (l *lateRevocations) Check(jti string, now time.Time) error {
	l.mu.Lock()
	at, ok := l.at[jti]
	l.mu.Unlock()
	if ok && !now.Before(at.Add(l.delay)) {
		return reason.New(reason.GrantRevoked, "the grant was revoked")
	}
	return nil
}

// ServeHTTP is the revoke endpoint: POST ?jti=… records the revocation, then answers.
func (l *lateRevocations) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	jti := req.URL.Query().Get("jti")
	if req.Method != http.MethodPost || jti == "" {
		http.Error(w, "POST ?jti= please", http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.at[jti] = time.Now()
	l.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// TestRevocationPropagation measures a reference Vault whose revocations
// take effect 300 ms after its HTTP revoke endpoint records them, through
// the config's revoke url hook. The endpoint records the revocation before
// it answers and the clock starts when the hook returns, so a sample is at
// least the delay less that answer's and one call's latency (tolerance
// 100 ms below); and the first try after the delay ends it, a 20 ms
// interval later at most plus one call's latency (tolerance 500 ms above,
// for a loaded machine under -race). The median of five is held to that.
func TestRevocationPropagation(t *testing.T) {
	const delay = 300 * time.Millisecond
	rev := &lateRevocations{delay: delay, at: map[string]time.Time{}}
	hook := httptest.NewServer(rev)
	t.Cleanup(hook.Close)

	svc, err := stack.New(stack.Config{Revocations: rev})
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = svc.Serve(lis) }()
	t.Cleanup(svc.Server.Stop)

	identity, grant := conformance.DevIssuers()
	cfg := &conformance.Config{
		Address:  lis.Addr().String(),
		Method:   conformance.Call{Method: "/demo.v1.Vault/Read", JSON: `{"path":"secrets/db/password"}`},
		Control:  &conformance.Call{Method: "/grpc.health.v1.Health/Check", JSON: `{}`},
		Identity: identity, Grant: grant,
		Audience: token.DevAudience, Subject: "alice", Resource: "secrets/*",
		MaxGrantLifetime: stack.DefaultMaxGrantLifetime,
		Revoker:          conformance.HTTPRevoker{URL: hook.URL + "/revoke?jti=${jti}"},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := conformance.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)

	r, err := measure.Revocation{Interval: 20 * time.Millisecond, Bound: 10 * time.Second}.Measure(ctx, measure.FromSession(s))
	require.NoError(t, err)
	assert.Len(t, r.Samples, measure.DefaultRevocationSamples)
	rev.mu.Lock()
	assert.Len(t, rev.at, measure.DefaultRevocationSamples, "each sample revoked its own grant through the hook")
	rev.mu.Unlock()
	p50 := figure(t, r, measure.FigureRevocationP50)
	assert.False(t, p50.AboveBound)
	assert.GreaterOrEqual(t, p50.Value, delay-100*time.Millisecond, p50.Comparison)
	assert.LessOrEqual(t, p50.Value, delay+500*time.Millisecond, p50.Comparison)
	t.Logf("samples %v; %s", r.Samples, p50.Comparison)
}
