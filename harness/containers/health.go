package containers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// ErrNotReady is returned when a container does not become healthy in time, or stops trying.
var ErrNotReady = errors.New("not ready")

// healthPoll spaces health checks; each check waits at most healthCall.
const (
	healthPoll = 100 * time.Millisecond
	healthCall = time.Second
)

// fastReconnect keeps gRPC's reconnect backoff short for clients that wait
// on a container coming (back) up: the default backoff grows to two minutes.
var fastReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

// WaitHealthy calls the gRPC health check (grpc.health.v1.Health/Check,
// whole server) at addr from here until it answers SERVING, or ctx ends.
func WaitHealthy(ctx context.Context, addr string) error {
	return waitHealthy(ctx, addr, false, nil)
}

// waitHealthy polls addr's health check. With speaksGRPC, a server without
// a health service (UNIMPLEMENTED) counts as up: it answers gRPC. alive,
// when set, is asked between polls and ends the wait with its error (a
// container that exited will never answer).
func waitHealthy(ctx context.Context, addr string, speaksGRPC bool, alive func(context.Context) error) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), fastReconnect)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotReady, addr, err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, healthCall)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		switch {
		case err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING:
			return nil
		case err == nil:
			last = fmt.Errorf("health status %s", resp.GetStatus())
		case speaksGRPC && status.Code(err) == codes.Unimplemented:
			return nil
		default:
			last = err
		}
		if alive != nil {
			if err := alive(ctx); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrNotReady, addr, err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s did not answer SERVING: %v (last answer: %v)", ErrNotReady, addr, ctx.Err(), last)
		case <-time.After(healthPoll):
		}
	}
}

// healthStrategy is a testcontainers wait strategy: the container's port
// answers the gRPC health check from the host. Scratch images have no
// shell, so nothing can be probed from inside. It gives up as soon as the
// container stops running, with its exit code and last log lines.
type healthStrategy struct {
	port       string // container port, "7444/tcp"
	timeout    time.Duration
	speaksGRPC bool
}

var _ wait.Strategy = healthStrategy{}

// WaitUntilReady implements wait.Strategy. Whether the container still
// runs is asked first, and again whenever a step fails: a container that
// exited at once has no published port, and "port not published" would
// hide the real story (its exit code and last words).
func (h healthStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	alive := func(ctx context.Context) error {
		st, err := target.State(ctx)
		if err != nil || st.Running {
			return nil // the engine's hiccup is not the container's end
		}
		return fmt.Errorf("the container stopped (%s, exit code %d); its last output: %s", st.Status, st.ExitCode, lastLines(ctx, target, 8))
	}
	mapped, err := mappedPort(ctx, target, h.port, alive)
	if err != nil {
		return err
	}
	return waitHealthy(ctx, hostAddr(int(mapped.Num())), h.speaksGRPC, alive)
}

// mappedPort returns the host port port is published on, once the engine
// reports it; a container that stops meanwhile ends the wait with alive's
// error, never with "not published".
func mappedPort(ctx context.Context, target wait.StrategyTarget, port string, alive func(context.Context) error) (network.Port, error) {
	for {
		if err := alive(ctx); err != nil {
			return network.Port{}, fmt.Errorf("%w: %v", ErrNotReady, err)
		}
		mapped, err := target.MappedPort(ctx, port)
		if err == nil {
			return mapped, nil
		}
		select {
		case <-ctx.Done():
			// The container may have stopped between the two questions.
			if dead := alive(context.WithoutCancel(ctx)); dead != nil {
				return network.Port{}, fmt.Errorf("%w: %v", ErrNotReady, dead)
			}
			return network.Port{}, fmt.Errorf("%w: port %s is not published: %v", ErrNotReady, port, err)
		case <-time.After(healthPoll):
		}
	}
}

// lastLines returns the last n lines a container printed, joined by " | ".
func lastLines(ctx context.Context, target wait.StrategyTarget, n int) string {
	rc, err := target.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(no logs: %v)", err)
	}
	defer rc.Close()
	var lines []string
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if len(lines) == 0 {
		return "(nothing)"
	}
	return strings.Join(lines, " | ")
}
