package containers

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"
)

// DefaultStartTimeout bounds a container's start, its health check included.
const DefaultStartTimeout = 60 * time.Second

// containerSpec is one container to create and start.
type containerSpec struct {
	name, image string
	entrypoint  []string // empty: the image's
	cmd         []string // empty: the image's
	env         map[string]string
	// port is the container port published on the host ("7444/tcp"), on
	// hostPort when set (else Docker picks one); empty publishes nothing.
	port     string
	hostPort int
	// extraPorts are more container ports ("7444/tcp") published on the given host loopback ports.
	extraPorts map[string]int
	// networks: the first is the one the published port is reached through;
	// none means no network at all.
	networks []string
	aliases  map[string][]string
	mounts   testcontainers.ContainerMounts
	binds    []string // host-path:container-path
	files    []testcontainers.ContainerFile
	user     string
	labels   map[string]string
	wait     wait.Strategy
	logger   log.Logger
}

// runContainer creates and starts s and waits for its wait strategy. On
// error the container, if it was created, is left for the caller's
// cleanup, which finds it by its labels.
func runContainer(ctx context.Context, s containerSpec) (*testcontainers.DockerContainer, error) {
	req := testcontainers.ContainerRequest{
		Image: s.image, Name: s.name, Entrypoint: s.entrypoint, Cmd: s.cmd, Env: s.env,
		Labels: s.labels, Networks: s.networks, NetworkAliases: s.aliases,
		Mounts: s.mounts, Files: s.files, WaitingFor: s.wait,
	}
	if s.port != "" {
		req.ExposedPorts = []string{s.port}
	}
	for p := range s.extraPorts {
		req.ExposedPorts = append(req.ExposedPorts, p)
	}
	req.ConfigModifier = func(c *container.Config) { c.User = s.user }
	req.HostConfigModifier = func(hc *container.HostConfig) {
		if len(s.networks) == 0 {
			hc.NetworkMode = "none"
		}
		hc.Binds = s.binds
		if s.port != "" && s.hostPort != 0 {
			hc.PortBindings = network.PortMap{network.MustParsePort(s.port): {{
				HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(s.hostPort)}}}
		}
		for p, hp := range s.extraPorts {
			if hc.PortBindings == nil {
				hc.PortBindings = network.PortMap{}
			}
			hc.PortBindings[network.MustParsePort(p)] = []network.PortBinding{{
				HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(hp)}}
		}
	}
	logger := s.logger
	if logger == nil {
		logger = log.NewNoopLogger()
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req, Started: true, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("container %s (%s): %w", s.name, s.image, err)
	}
	dc, ok := ctr.(*testcontainers.DockerContainer)
	if !ok {
		return nil, fmt.Errorf("container %s: testcontainers returned a %T, not a Docker container", s.name, ctr)
	}
	return dc, nil
}

// runToExit runs s until it exits and returns its exit code and output
// (stdout and stderr), then removes it. timeout bounds the run.
func runToExit(ctx context.Context, s containerSpec, timeout time.Duration) (code int, output []byte, err error) {
	s.wait = wait.ForExit().WithExitTimeout(timeout).WithPollInterval(100 * time.Millisecond)
	ctr, err := runContainer(ctx, s)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = ctr.Terminate(context.WithoutCancel(ctx), testcontainers.StopTimeout(0)) }()
	st, err := ctr.State(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("container %s: %w", s.name, err)
	}
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return st.ExitCode, nil, fmt.Errorf("container %s: logs: %w", s.name, err)
	}
	defer rc.Close()
	output, err = io.ReadAll(rc)
	if err != nil {
		return st.ExitCode, output, fmt.Errorf("container %s: logs: %w", s.name, err)
	}
	return st.ExitCode, output, nil
}
