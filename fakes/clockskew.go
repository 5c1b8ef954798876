package fakes

import "time"

// KindClockSkew names the fault that skews one component's clock.
const KindClockSkew = "clock-skew"

type clockSkewParams struct {
	Target string        `param:"target,required" enum:"client|service|broker" doc:"whose clock is wrong"`
	Offset time.Duration `param:"offset" doc:"how far ahead (negative: behind) the clock is"`
	Drift  float64       `param:"drift" doc:"seconds gained per second from the window's start (0.001 = 1 ms/s; negative loses time)"`
}

func init() {
	register(KindClockSkew, "skews the wall clock of the client, the service or the broker by an offset and a drift",
		clockSkewParams{}, newClockSkew)
}

func newClockSkew(params map[string]any) (Fault, error) {
	var p clockSkewParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Offset == 0 && p.Drift == 0 {
		return nil, &ParamError{Key: "offset", Msg: "set offset or drift: a skew of zero changes nothing"}
	}
	return FaultFunc(func(env Env) (func(), error) {
		c, err := env.Clock(p.Target)
		if err != nil {
			return nil, err
		}
		return c.Set(p.Offset, p.Drift), nil
	}), nil
}
