package fakes

import "time"

// KindShortDeadline names the fault that gives every call a short deadline.
const KindShortDeadline = "short-deadline"

type shortDeadlineParams struct {
	Deadline time.Duration `param:"deadline,required" doc:"the per-call deadline, e.g. 1ms or 2s"`
}

func init() {
	register(KindShortDeadline, "gives every call this deadline, approval wait included",
		shortDeadlineParams{}, newShortDeadline)
	onExternal(KindShortDeadline, "client side: the call's deadline")
}

func newShortDeadline(params map[string]any) (Fault, error) {
	var p shortDeadlineParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Deadline <= 0 {
		return nil, &ParamError{Key: "deadline", Msg: "must be positive"}
	}
	return FaultFunc(func(env Env) (func(), error) {
		l := env.Client().Add(func(s *ClientSettings) { s.Deadline = p.Deadline })
		layerEffect(env, "call", func(met string) string { return "gave " + met + " a " + p.Deadline.String() + " deadline" }, l)
		return l.Remove, nil
	}), nil
}
