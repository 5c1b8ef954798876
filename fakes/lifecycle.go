package fakes

import (
	"context"
	"time"
)

// lifecycleTimeout bounds a broker operation a fault triggers: Env gives no
// context, and a hung broker must fail the fault, not the whole run.
const lifecycleTimeout = 30 * time.Second

// brokerOnce builds a fault that does op to the broker once when its window
// opens; there is nothing to undo when it closes.
func brokerOnce(op func(ctx context.Context, b BrokerControl) error) Fault {
	return FaultFunc(func(env Env) (func(), error) {
		ctx, cancel := context.WithTimeout(context.Background(), lifecycleTimeout)
		defer cancel()
		if err := op(ctx, env.Broker()); err != nil {
			return nil, err
		}
		return noop, nil
	})
}
