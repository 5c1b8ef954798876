package fakes

// KindStreamInterceptorMissing names the fault where the service checks unary calls only.
const KindStreamInterceptorMissing = "stream-interceptor-missing"

type streamInterceptorMissingParams struct{}

func init() {
	register(KindStreamInterceptorMissing, "builds the service without its stream interceptor (static: from the start)",
		streamInterceptorMissingParams{}, newStreamInterceptorMissing)
	onExternal(KindStreamInterceptorMissing, "refused: it changes how the service is built")
}

func newStreamInterceptorMissing(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &streamInterceptorMissingParams{}); err != nil {
		return nil, err
	}
	return StaticFunc(func(env Env) (func(), error) {
		l := env.Service().Add(func(s *ServiceSettings) { s.NoStreamInterceptor = true })
		layerEffect(env, "build", func(met string) string { return "built the service without its stream interceptor (" + met + ")" }, l)
		return l.Remove, nil
	}), nil
}
