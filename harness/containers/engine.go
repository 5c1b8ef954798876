package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Sentinel errors of the engine's side.
var (
	// ErrNoEngine is returned when no Docker engine answers.
	ErrNoEngine = errors.New("no Docker engine answers")
	// ErrRyukEnabled is returned when testcontainers would start its Ryuk
	// reaper, whose image would have to be pulled from a registry.
	ErrRyukEnabled = errors.New("testcontainers' Ryuk reaper is enabled: set TESTCONTAINERS_RYUK_DISABLED=true (its image would be pulled; this package removes what it creates itself)")
)

// dockerClient connects to the engine testcontainers uses (DOCKER_HOST,
// ~/.testcontainers.properties, or the default socket).
func dockerClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	return cli, nil
}

// checkRyuk refuses to go on when testcontainers would start its reaper.
func checkRyuk() error {
	if !testcontainers.ReadConfig().Config.RyukDisabled {
		return ErrRyukEnabled
	}
	return nil
}

// freePort returns a TCP port free on the host's loopback now. The cluster
// publishes containers on fixed ports, because Docker picks a new ephemeral
// port each time a container restarts and clients must find it again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hostAddr is how the host reaches a port published on loopback.
func hostAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// labelFilter selects objects by label key=value.
func labelFilter(key, value string) client.Filters {
	return make(client.Filters).Add("label", key+"="+value)
}

// labelled lists the containers (running or not), then the networks,
// then the volumes that carry the label key=value.
func labelled(ctx context.Context, cli client.APIClient, key, value string) ([]Object, error) {
	f := labelFilter(key, value)
	var objs []Object
	ctrs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range ctrs.Items {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		objs = append(objs, Object{Kind: kindContainer, ID: c.ID, Name: name, Role: c.Labels[LabelRole]})
	}
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets.Items {
		objs = append(objs, Object{Kind: kindNetwork, ID: n.ID, Name: n.Name, Role: n.Labels[LabelRole]})
	}
	vols, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vols.Items {
		objs = append(objs, Object{Kind: kindVolume, ID: v.Name, Name: v.Name, Role: v.Labels[LabelRole]})
	}
	return objs, nil
}

// removeLabelled removes what carries the label key=value: containers
// first (by force: killed whatever their state, paused included, with
// their anonymous volumes), then networks and volumes, which containers
// hold. Each kind is removed in parallel, since the engine may take a
// second per object on a busy machine. It returns what it could not remove.
func removeLabelled(ctx context.Context, cli client.APIClient, key, value string) error {
	objs, err := labelled(ctx, cli, key, value)
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	for _, kind := range []string{kindContainer, kindNetwork, kindVolume} {
		var wg sync.WaitGroup
		for _, o := range objs {
			if o.Kind != kind {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				switch o.Kind {
				case kindContainer:
					_, err = cli.ContainerRemove(ctx, o.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
				case kindNetwork:
					_, err = cli.NetworkRemove(ctx, o.ID, client.NetworkRemoveOptions{})
				case kindVolume:
					_, err = cli.VolumeRemove(ctx, o.ID, client.VolumeRemoveOptions{Force: true})
				}
				if err != nil && !errdefs.IsNotFound(err) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("remove %s: %w", o, err))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

// removeBy removes what carries the label key=value, on a connection of its own.
func removeBy(ctx context.Context, key, value string) error {
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return removeLabelled(ctx, cli, key, value)
}
