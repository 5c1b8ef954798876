package fakes

import "fmt"

// KindRetryWithoutDeadlineExtension names the fault where the client retries inside its first deadline.
const KindRetryWithoutDeadlineExtension = "retry-without-deadline-extension"

type retryParams struct {
	Retries int  `param:"retries" doc:"how many times a failed call is retried (default 3)"`
	Extend  bool `param:"extend" doc:"give each retry a fresh deadline: the fix, for comparison (default false: the bug)"`
}

func init() {
	register(KindRetryWithoutDeadlineExtension, "the client retries failed calls, every retry sharing the first call's deadline unless extend is set",
		retryParams{}, newRetry)
	onExternal(KindRetryWithoutDeadlineExtension, "client side: retries that share, or renew, the first deadline")
}

func newRetry(params map[string]any) (Fault, error) {
	p := retryParams{Retries: 3}
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Retries < 1 {
		return nil, &ParamError{Key: "retries", Msg: "must be at least 1"}
	}
	how := "sharing the first attempt's deadline"
	if p.Extend {
		how = "each retry with a fresh deadline"
	}
	return FaultFunc(func(env Env) (func(), error) {
		l := env.Client().Add(func(s *ClientSettings) {
			s.Retries = p.Retries
			s.ExtendDeadlineOnRetry = p.Extend
		})
		layerEffect(env, "call", func(met string) string { return fmt.Sprintf("let %s retry up to %d times, %s", met, p.Retries, how) }, l)
		return l.Remove, nil
	}), nil
}
