package fakes

// KindBrokerDown names the fault that makes the broker unreachable.
const KindBrokerDown = "broker-down"

type brokerDownParams struct{}

func init() {
	register(KindBrokerDown, "resets both links to the broker, so clients and the service cannot reach it",
		brokerDownParams{}, newBrokerDown)
}

func newBrokerDown(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &brokerDownParams{}); err != nil {
		return nil, err
	}
	return FaultFunc(func(env Env) (func(), error) {
		var undo []func()
		restore := func() {
			for _, u := range undo {
				u()
			}
		}
		for _, name := range []string{LinkClientBroker, LinkServiceBroker} {
			l, err := env.Link(name)
			if err != nil {
				restore()
				return nil, err
			}
			undo = append(undo, l.Set(LinkSettings{Reset: true}))
		}
		return restore, nil
	}), nil
}
