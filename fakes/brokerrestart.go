package fakes

import "context"

// KindBrokerRestart names the fault that restarts the broker.
const KindBrokerRestart = "broker-restart"

type brokerRestartParams struct{}

func init() {
	register(KindBrokerRestart, "stops the broker and starts it again on the same store, once, when the window opens",
		brokerRestartParams{}, newBrokerRestart)
}

func newBrokerRestart(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &brokerRestartParams{}); err != nil {
		return nil, err
	}
	return brokerOnce(func(ctx context.Context, b BrokerControl) error { return b.Restart(ctx) }), nil
}
