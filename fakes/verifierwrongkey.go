package fakes

// KindVerifierWrongKey names the fault where the service trusts keys the broker does not sign with.
const KindVerifierWrongKey = "verifier-wrong-key"

type verifierWrongKeyParams struct{}

func init() {
	register(KindVerifierWrongKey, "builds the service's grant verifier with keys the broker never signs with (static: from the start)",
		verifierWrongKeyParams{}, newVerifierWrongKey)
	onExternal(KindVerifierWrongKey, "refused: it changes how the service is built")
}

func newVerifierWrongKey(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &verifierWrongKeyParams{}); err != nil {
		return nil, err
	}
	return StaticFunc(func(env Env) (func(), error) {
		l := env.Service().Add(func(s *ServiceSettings) { s.WrongGrantKeys = true })
		layerEffect(env, "build", func(met string) string {
			return "built the service trusting grant keys the broker never signs with (" + met + ")"
		}, l)
		return l.Remove, nil
	}), nil
}
