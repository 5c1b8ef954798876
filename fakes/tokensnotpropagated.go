package fakes

// KindTokensNotPropagated names the fault where middleware drops credentials on streams.
const KindTokensNotPropagated = "tokens-not-propagated"

type tokensNotPropagatedParams struct {
	Method string `param:"method" doc:"streaming method to call instead (default the service's: the Vault's List, or a target config's stream method)"`
}

func init() {
	register(KindTokensNotPropagated, "the client's middleware attaches credentials to unary calls only; calls go to a stream",
		tokensNotPropagatedParams{}, newTokensNotPropagated)
	onExternal(KindTokensNotPropagated, "client side: calls go to the config's stream method without credentials; refused without stream")
}

func newTokensNotPropagated(params map[string]any) (Fault, error) {
	var p tokensNotPropagatedParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	return FaultFunc(func(env Env) (func(), error) {
		to := p.Method
		if to == "" {
			to = "the service's stream method"
		}
		l := env.Client().Add(func(s *ClientSettings) {
			s.OmitOnStreams = true
			s.Method, s.Stream = p.Method, p.Method == ""
		})
		layerEffect(env, "call", func(met string) string { return "sent " + met + " to " + to + " with no credentials on streams" }, l)
		return l.Remove, nil
	}), nil
}
