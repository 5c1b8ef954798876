package brokerclient

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/interceptor"
)

func TestFlightWaiterLeavesOnItsOwnContext(t *testing.T) {
	var fs flights
	release := make(chan struct{})
	leaderDone := make(chan struct{})
	named := make(chan struct{})
	go func() {
		defer close(leaderDone)
		_, _, leader, err := fs.do(context.Background(), "k", func(p *progress) (interceptor.Credential, error) {
			p.setRequest("req-1")
			close(named)
			<-release
			return interceptor.Credential{Token: "t"}, nil
		})
		assert.True(t, leader)
		assert.NoError(t, err)
	}()
	// Wait for the leader to have named its request, not merely to have
	// registered the flight: only then can the waiter see the name.
	<-named
	require.Equal(t, 1, fs.callers("k"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, p, leader, err := fs.do(ctx, "k", nil)
	assert.False(t, leader)
	assert.ErrorIs(t, err, errInterrupted)
	assert.Equal(t, "req-1", p.snapshot().requestID, "the waiter can name the request it waited for")

	close(release)
	<-leaderDone
	assert.Zero(t, fs.callers("k"))
}

func TestFlightReleasesWaitersWhenTheLeaderPanics(t *testing.T) {
	var fs flights
	assert.Panics(t, func() {
		_, _, _, _ = fs.do(context.Background(), "k", func(*progress) (interceptor.Credential, error) { panic("boom") })
	})
	assert.Zero(t, fs.callers("k"), "the next caller starts afresh")
}
