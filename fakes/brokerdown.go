package fakes

import "errors"

// KindBrokerDown names the fault that makes the broker unreachable.
const KindBrokerDown = "broker-down"

type brokerDownParams struct{}

func init() {
	register(KindBrokerDown, "resets both links to the broker, so clients and the service cannot reach it",
		brokerDownParams{}, newBrokerDown)
	onExternal(KindBrokerDown, "broker: the caller's link to the broker jitbench runs is cut (the service never calls it)")
}

func newBrokerDown(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &brokerDownParams{}); err != nil {
		return nil, err
	}
	return FaultFunc(func(env Env) (func(), error) {
		var layers []*Layer
		restore := func() {
			for _, l := range layers {
				l.Remove()
			}
		}
		for _, name := range []string{LinkClientBroker, LinkServiceBroker} {
			l, err := env.Link(name)
			if errors.Is(err, ErrNoLink) && name == LinkServiceBroker {
				continue // a service that never calls the broker (a user's own): its callers' link is cut
			}
			if err != nil {
				restore()
				return nil, err
			}
			layers = append(layers, l.Add(LinkSettings{Reset: true}))
		}
		layerEffect(env, "connection", func(met string) string { return "cut the links to the broker: it closed or refused " + met }, layers...)
		return restore, nil
	}), nil
}
