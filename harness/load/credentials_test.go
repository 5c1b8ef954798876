package load_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
)

// countingSource hands out numbered grants valid for ttl on clock.
type countingSource struct {
	clock    clockwork.Clock
	ttl      time.Duration
	n        atomic.Int64
	forgets  atomic.Int64
	failWith error
}

func (s *countingSource) Grant(context.Context, string) (interceptor.Credential, error) {
	if s.failWith != nil {
		return interceptor.Credential{}, s.failWith
	}
	n := s.n.Add(1)
	return interceptor.Credential{Token: fmt.Sprintf("grant-%d", n), Expires: s.clock.Now().Add(s.ttl)}, nil
}

func (s *countingSource) Forget() { s.forgets.Add(1) }

var identity = interceptor.IdentitySourceFunc(func(context.Context) (interceptor.Credential, error) {
	return interceptor.Credential{Token: "id"}, nil
})

func TestGrantModes(t *testing.T) {
	tests := []struct {
		mode load.GrantMode
		// grants are what worker 0 sends on calls at 0, 1m, 4m30s and 5m30s, with 5m grants renewed 1m early.
		grants  []string
		forgets int64
	}{
		{load.PerCall, []string{"grant-1", "grant-2", "grant-3", "grant-4"}, 4},
		{load.Cached, []string{"grant-1", "grant-1", "grant-1", "grant-1"}, 0}, // kept even once expired
		{load.Renew, []string{"grant-1", "grant-1", "grant-2", "grant-2"}, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			fc := clockwork.NewFakeClockAt(t0)
			src := &countingSource{clock: fc, ttl: 5 * time.Minute}
			g, err := load.NewGrants(load.GrantConfig{
				Mode: tt.mode, Method: "/demo.v1.Vault/Read", Identity: identity,
				Source: load.Shared(src), RenewBefore: time.Minute, Clock: fc,
			})
			require.NoError(t, err)
			var phases atomic.Int64
			g.ObservePhases(func(_ int, phase string, _ time.Time, _ time.Duration) {
				assert.Equal(t, "grant", phase)
				phases.Add(1)
			})
			var got []string
			for _, at := range []time.Duration{0, time.Minute, 4*time.Minute + 30*time.Second, 5*time.Minute + 30*time.Second} {
				fc.Advance(at - fc.Since(t0))
				md, err := g.Metadata(t.Context(), 0)
				require.NoError(t, err)
				require.Equal(t, []string{"authorization", "Bearer id", "x-jit-grant", md[3]}, md)
				got = append(got, md[3])
			}
			assert.Equal(t, tt.grants, got)
			assert.Equal(t, tt.forgets, src.forgets.Load(), "a caching source forgets before each per-call grant")
			assert.Equal(t, src.n.Load(), phases.Load(), "every grant obtained is timed")
		})
	}
}

func TestGrantsPerWorker(t *testing.T) {
	src := &countingSource{clock: clockwork.NewRealClock(), ttl: time.Hour}
	made := map[int]bool{}
	g, err := load.NewGrants(load.GrantConfig{
		Mode: load.Cached, Method: "/m.S/M",
		Source: func(worker int) interceptor.GrantSource { made[worker] = true; return src },
	})
	require.NoError(t, err)
	a, err := g.Metadata(t.Context(), 3)
	require.NoError(t, err)
	b, err := g.Metadata(t.Context(), 0)
	require.NoError(t, err)
	again, err := g.Metadata(t.Context(), 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"x-jit-grant", "grant-1"}, a, "no identity source: no identity header")
	assert.Equal(t, []string{"x-jit-grant", "grant-2"}, b, "each worker has its own grant")
	assert.Equal(t, a, again)
	assert.Equal(t, map[int]bool{0: true, 3: true}, made, "sources are made for the workers that call")
}

func TestGrantErrorsAreStatuses(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		ctx    func() context.Context
		reason reason.Reason
	}{
		{"reason kept", reason.New(reason.ApprovalDenied, "no"), context.Background, reason.ApprovalDenied},
		{"plain error is the broker", fmt.Errorf("dial: refused"), context.Background, reason.BrokerUnavailable},
		{"deadline is approval pending", context.DeadlineExceeded, context.Background, reason.ApprovalPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := load.NewGrants(load.GrantConfig{
				Mode: load.Cached, Method: "/m.S/M",
				Source: load.Shared(&countingSource{failWith: tt.err}),
			})
			require.NoError(t, err)
			_, err = g.Metadata(tt.ctx(), 0)
			assert.Equal(t, tt.reason, reason.Of(err))
			assert.Equal(t, tt.reason.Code(), reason.FromError(err).Code)
		})
	}
}

func TestParseGrantMode(t *testing.T) {
	for _, m := range load.GrantModes {
		got, err := load.ParseGrantMode(string(m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := load.ParseGrantMode("sometimes")
	assert.ErrorContains(t, err, "per-call, cached, renew")
}
