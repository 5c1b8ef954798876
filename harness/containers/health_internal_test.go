package containers

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go/wait"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// scriptedTarget is a container as the engine describes it, one answer
// after another: its states in turn (the last repeats), and its mapped
// port from the given State question on (0: never published).
type scriptedTarget struct {
	wait.StrategyTarget // the questions the strategy never asks

	mu        sync.Mutex
	states    []container.State
	asked     int
	port      int
	publishAt int // the number of State answers after which the port is published
	logs      string
}

func (s *scriptedTarget) State(context.Context) (*container.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[min(s.asked, len(s.states)-1)]
	s.asked++
	return &st, nil
}

func (s *scriptedTarget) MappedPort(_ context.Context, port string) (network.Port, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port == 0 || s.asked < s.publishAt || !s.states[min(s.asked-1, len(s.states)-1)].Running {
		return network.Port{}, errors.New(`port "` + port + `" not found`)
	}
	p, _ := network.PortFrom(uint16(s.port), network.TCP)
	return p, nil
}

func (s *scriptedTarget) Logs(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(s.logs)), nil
}

var (
	running = container.State{Status: container.StateRunning, Running: true}
	exited  = container.State{Status: container.StateExited, ExitCode: 2}
)

// TestHealthWaitSaysTheContainerExited: a container that exits at once has
// no published port. The wait must say how it ended (exit code, last
// words), not "port 7443/tcp is not published": asking for the port before
// noticing the exit made TestCleanupAfterFailedStart fail 1 run in 5.
func TestHealthWaitSaysTheContainerExited(t *testing.T) {
	tests := []struct {
		name   string
		states []container.State
	}{
		{"exited before the wait began", []container.State{exited}},
		{"exited while the port was asked for", []container.State{running, exited}},
		{"exited after a few polls", []container.State{running, running, running, exited}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &scriptedTarget{states: tt.states, logs: "Error: unknown flag: --no-such-flag\n"}
			err := healthStrategy{port: "7443/tcp", timeout: time.Minute}.WaitUntilReady(t.Context(), target)
			require.ErrorIs(t, err, ErrNotReady)
			assert.Contains(t, err.Error(), "exit code 2")
			assert.Contains(t, err.Error(), "unknown flag: --no-such-flag")
			assert.NotContains(t, err.Error(), "not published")
		})
	}
}

// TestHealthWaitWaitsForThePort: a running container whose port the engine
// has not reported yet is asked again, then waited on until it is healthy.
func TestHealthWaitWaitsForThePort(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	target := &scriptedTarget{states: []container.State{running}, port: lis.Addr().(*net.TCPAddr).Port, publishAt: 3}
	require.NoError(t, healthStrategy{port: "7443/tcp", timeout: time.Minute}.WaitUntilReady(t.Context(), target))

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	never := &scriptedTarget{states: []container.State{running}}
	err = healthStrategy{port: "7443/tcp", timeout: time.Minute}.WaitUntilReady(ctx, never)
	require.ErrorIs(t, err, ErrNotReady)
	assert.Contains(t, err.Error(), "port 7443/tcp is not published", "a running container whose port never shows")
}
