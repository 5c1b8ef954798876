package fakes

import (
	"context"
	"time"
)

// lifecycleTimeout bounds a broker operation a fault triggers: Env gives no
// context, and a hung broker must fail the fault, not the whole run.
const lifecycleTimeout = 30 * time.Second

// brokerOnce builds a fault that does op to the broker once when its window
// opens; there is nothing to undo when it closes. op returns the fault's
// effect, measured when it acted.
func brokerOnce(op func(ctx context.Context, b BrokerControl) (Effect, error)) Fault {
	return FaultFunc(func(env Env) (func(), error) {
		ctx, cancel := context.WithTimeout(context.Background(), lifecycleTimeout)
		defer cancel()
		e, err := op(ctx, env.Broker())
		if err != nil {
			return nil, err
		}
		env.Effect(func() Effect { return e })
		return noop, nil
	})
}
