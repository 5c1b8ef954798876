package containers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go/log"
)

// ImageOptions configure StartImage.
type ImageOptions struct {
	// Image is the image to run, present locally (nothing is pulled).
	Image string
	// Port is the TCP port the service listens on in the container.
	Port int
	// ExtraPorts are more container ports to publish on the host's loopback (a broker beside the service).
	ExtraPorts []int
	// Entrypoint replaces the image's entrypoint when set.
	Entrypoint []string
	// Args replace the image's command (CMD) when set.
	Args []string
	// Env is added to the container's environment.
	Env map[string]string
	// RunID labels the container (LabelRun); empty means NewRunID.
	RunID string
	// StartTimeout bounds the start, readiness included; zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// Logger receives testcontainers' progress lines; nil discards them.
	Logger log.Logger
}

// Container is one service started by StartImage.
type Container struct {
	// Addr is where the host reaches the service (loopback, a port Docker picked).
	Addr string
	// Extra is where the host reaches each of ImageOptions.ExtraPorts, by container port.
	Extra map[int]string
	// ID is the container's id; RunID its LabelRun.
	ID, RunID string
	// group is its LabelCluster, by which Close finds it.
	group string
}

// ErrBadOptions is returned for options that cannot describe a container.
var ErrBadOptions = errors.New("bad container options")

// ErrNoImage is returned by StartImage for an image the engine does not
// have: it is never pulled (there may be no registry to pull from).
var ErrNoImage = errors.New("image not present locally (nothing is pulled: build or load it first)")

// StartImage runs one gRPC service from image with its port published on
// the host's loopback, and returns once it answers gRPC there: its health
// check says SERVING, or it has no health service (UNIMPLEMENTED) but
// answers. It is the building block for testing a service shipped as an
// image (`jitbench conformance --image`): call the service at Addr, then
// Close. On error nothing is left behind.
func StartImage(ctx context.Context, opts ImageOptions) (*Container, error) {
	if opts.Image == "" || opts.Port <= 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("%w: need an image and a port in 1..65535, got %q and %d", ErrBadOptions, opts.Image, opts.Port)
	}
	if err := checkRyuk(); err != nil {
		return nil, err
	}
	if err := checkImage(ctx, opts.Image); err != nil {
		return nil, err
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	id := randomID(4)
	hostPort, err := freePort()
	if err != nil {
		return nil, err
	}
	port := portSpec(opts.Port)
	extra, published := map[string]int{}, map[int]string{}
	for _, p := range opts.ExtraPorts {
		hp, err := freePort()
		if err != nil {
			return nil, err
		}
		extra[portSpec(p)], published[p] = hp, hostAddr(hp)
	}
	ctr, err := runContainer(ctx, containerSpec{
		name: "jitbench-" + id + "-target", image: opts.Image, entrypoint: opts.Entrypoint, cmd: opts.Args, env: opts.Env,
		port: port, hostPort: hostPort, extraPorts: extra, networks: []string{"bridge"},
		labels: labels(opts.RunID, id, "target"), logger: opts.Logger,
		wait: healthStrategy{port: port, timeout: opts.StartTimeout, speaksGRPC: true},
	})
	if err != nil {
		cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return nil, errors.Join(err, removeCluster(cleanCtx, id))
	}
	return &Container{Addr: hostAddr(hostPort), Extra: published, ID: ctr.ID, RunID: opts.RunID, group: id}, nil
}

// checkImage returns ErrNoImage when the engine does not have image.
func checkImage(ctx context.Context, image string) error {
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	id, _, err := imageContent(ctx, cli, image)
	switch {
	case err != nil:
		return err
	case id == "":
		return fmt.Errorf("%w: %s", ErrNoImage, image)
	}
	return nil
}

// Close removes the container.
func (c *Container) Close(ctx context.Context) error { return removeCluster(ctx, c.group) }

// removeCluster removes everything labelled with cluster id.
func removeCluster(ctx context.Context, id string) error { return removeBy(ctx, LabelCluster, id) }
