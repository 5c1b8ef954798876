package fakes

import (
	"context"
	"errors"
)

// ErrNoContainers is what Env.Containers wraps on a topology whose broker
// and service are not containers: the container faults need topology
// container.
var ErrNoContainers = errors.New("needs topology container")

// Containers is what the container fault kinds act on: the broker and the
// protected service as real containers (topology container), so a fault
// can freeze, kill or cut off a real process. Each method returns once its
// effect holds (a killed broker has stopped, a restarted one answers its
// health check).
//
// A fault undoes its effect from its remove func, which cannot return an
// error: an implementation reports the errors of the undoing calls
// (UnpauseBroker, RestartBroker, ReconnectVault) itself; the harness fails
// the run with them.
//
// The operations that open a window return the engine's account of what
// changed ("paused the broker's container"): the fault's effect. An
// implementation that changed nothing returns "", and the run's check that
// the fault acted fails.
type Containers interface {
	// PauseBroker freezes the broker's processes; UnpauseBroker thaws them.
	PauseBroker(ctx context.Context) (account string, err error)
	UnpauseBroker(ctx context.Context) error
	// KillBroker sends SIGKILL to the broker; RestartBroker starts it again on the same volume and address.
	KillBroker(ctx context.Context) (account string, err error)
	RestartBroker(ctx context.Context) error
	// DisconnectVault cuts the service from the network it shares with the broker; ReconnectVault heals the partition.
	DisconnectVault(ctx context.Context) (account string, err error)
	ReconnectVault(ctx context.Context) error
}

// What the container kinds hold whole while their window is open (see Holds).
const (
	holdsBrokerContainer = "the broker's container"
	holdsVaultNetwork    = "the service's link to the broker's network"
)

// containerOn is a Containers method that opens a window, as a method
// expression (Containers.PauseBroker): the receiver comes first.
type containerOn func(c Containers, ctx context.Context) (string, error)

// containerOp is a Containers method that closes one (Containers.UnpauseBroker).
type containerOp func(c Containers, ctx context.Context) error

// containerFault builds a fault that does on to the containers when its
// window opens and off when it closes. Each step gets lifecycleTimeout:
// a restart waits for a health check, and a hung engine must fail the
// fault, not the run.
func containerFault(on containerOn, off containerOp) Fault {
	return FaultFunc(func(env Env) (func(), error) {
		c, err := env.Containers()
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), lifecycleTimeout)
		defer cancel()
		account, err := on(c, ctx)
		if err != nil {
			return nil, err
		}
		env.Effect(func() Effect {
			if account == "" {
				return Effect{What: "the containers reported no change"}
			}
			return Effect{What: account, Met: 1}
		})
		return func() {
			ctx, cancel := context.WithTimeout(context.Background(), lifecycleTimeout)
			defer cancel()
			_ = off(c, ctx) // reported by the Containers implementation (see Containers)
		}, nil
	})
}
