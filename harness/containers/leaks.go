package containers

import (
	"context"
	"errors"
	"fmt"
)

// Kinds of objects the package creates.
const (
	kindContainer = "container"
	kindNetwork   = "network"
	kindVolume    = "volume"
)

// Object is one container, network or volume the package created.
type Object struct {
	// Kind is container, network or volume.
	Kind string
	// ID is the engine's id (a volume's is its name); Name the object's name; Role its LabelRole.
	ID, Name, Role string
}

// String reads "container jitbench-1a2b3c4d-broker (broker)".
func (o Object) String() string { return fmt.Sprintf("%s %s (%s)", o.Kind, o.Name, o.Role) }

// Leaks lists the containers (running or not), networks and volumes still
// labelled with run: after every cluster of the run was closed, none.
func Leaks(ctx context.Context, run string) ([]Object, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return labelled(ctx, cli, LabelRun, run)
}

// RemoveRun removes every container, network and volume labelled with run:
// the sweep after a run whose clusters could not all be closed.
func RemoveRun(ctx context.Context, run string) error { return removeBy(ctx, LabelRun, run) }

// Sweep is the check at the end of a run: it returns an error listing
// what run left (its containers, networks and volumes), after removing it;
// nil when nothing was left or no Docker engine answers (then nothing ran).
func Sweep(ctx context.Context, run string) error {
	if Ping(ctx) != nil {
		return nil
	}
	leaks, err := Leaks(ctx, run)
	if err == nil && len(leaks) == 0 {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("run %s left %d objects: %v", run, len(leaks), leaks)
	}
	return errors.Join(err, RemoveRun(ctx, run))
}
