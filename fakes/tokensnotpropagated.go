package fakes

import demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"

// KindTokensNotPropagated names the fault where middleware drops credentials on streams.
const KindTokensNotPropagated = "tokens-not-propagated"

type tokensNotPropagatedParams struct {
	Method string `param:"method" doc:"streaming method to call instead (default /demo.v1.Vault/List)"`
}

func init() {
	register(KindTokensNotPropagated, "the client's middleware attaches credentials to unary calls only; calls go to a stream",
		tokensNotPropagatedParams{}, newTokensNotPropagated)
}

func newTokensNotPropagated(params map[string]any) (Fault, error) {
	p := tokensNotPropagatedParams{Method: demov1.Vault_List_FullMethodName}
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	return FaultFunc(func(env Env) (func(), error) {
		l := env.Client().Add(func(s *ClientSettings) {
			s.OmitOnStreams = true
			s.Method = p.Method
		})
		layerEffect(env, "call", func(met string) string { return "sent " + met + " to " + p.Method + " with no credentials on streams" }, l)
		return l.Remove, nil
	}), nil
}
