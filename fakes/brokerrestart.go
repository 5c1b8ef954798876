package fakes

import (
	"context"
	"time"
)

// KindBrokerRestart names the fault that restarts the broker.
const KindBrokerRestart = "broker-restart"

type brokerRestartParams struct{}

func init() {
	register(KindBrokerRestart, "stops the broker and starts it again on the same store, once, when the window opens",
		brokerRestartParams{}, newBrokerRestart)
	onExternal(KindBrokerRestart, "broker: the broker jitbench runs restarts on its store")
}

func newBrokerRestart(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &brokerRestartParams{}); err != nil {
		return nil, err
	}
	return brokerOnce(func(ctx context.Context, b BrokerControl) (Effect, error) {
		down, err := b.Restart(ctx)
		if down <= 0 {
			return Effect{What: "did not take the broker down"}, err
		}
		return Effect{What: "restarted the broker: it was down for " + down.Round(time.Microsecond).String(), Met: 1}, err
	}), nil
}
