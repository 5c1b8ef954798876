package fakes

import (
	"fmt"
	"strings"
	"time"
)

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
	onExternal(KindClockSkew, "client side for client (the identity's times) and broker (the grant's times: the issuer's clock); refused for service, whose clock is its host's")
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
		l := c.Add(p.Offset, p.Drift)
		layerEffect(env, "time", func(met string) string {
			return "skewed the " + p.Target + "'s clock (" + p.describe() + "); it was read " + met
		}, l)
		return l.Remove, nil
	}), nil
}

// describe words the skew: "2m0s ahead", "45s behind, drifting 0.001 s/s".
func (p clockSkewParams) describe() string {
	var parts []string
	switch {
	case p.Offset > 0:
		parts = append(parts, p.Offset.String()+" ahead")
	case p.Offset < 0:
		parts = append(parts, (-p.Offset).String()+" behind")
	}
	if p.Drift != 0 {
		parts = append(parts, fmt.Sprintf("drifting %g s/s", p.Drift))
	}
	return strings.Join(parts, ", ")
}
