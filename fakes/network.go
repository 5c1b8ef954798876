package fakes

import (
	"fmt"
	"strings"
	"time"
)

// KindNetwork names the fault that degrades one network link.
const KindNetwork = "network"

type networkParams struct {
	Link      string        `param:"link,required" enum:"client-service|client-broker|service-broker" doc:"which link"`
	Latency   time.Duration `param:"latency" doc:"delay added to every write, both ways"`
	Jitter    time.Duration `param:"jitter" doc:"seeded random spread around the latency"`
	Blackhole bool          `param:"blackhole" doc:"swallow every byte both ways: a silent partition"`
	Reset     bool          `param:"reset" doc:"close open connections and refuse new ones"`
	Bandwidth int           `param:"bandwidth" doc:"cap in bytes per second each way (0: unlimited)"`
}

func init() {
	register(KindNetwork, "adds latency, jitter, a blackhole, resets or a bandwidth cap to one link",
		networkParams{}, newNetwork)
	onExternal(KindNetwork, "client side on the client-service link (the connection to the service) and the client-broker link; refused on service-broker")
}

func newNetwork(params map[string]any) (Fault, error) {
	var p networkParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Latency < 0 {
		return nil, &ParamError{Key: "latency", Msg: "must not be negative"}
	}
	if p.Jitter < 0 {
		return nil, &ParamError{Key: "jitter", Msg: "must not be negative"}
	}
	if p.Bandwidth < 0 {
		return nil, &ParamError{Key: "bandwidth", Msg: "must not be negative"}
	}
	s := LinkSettings{Latency: p.Latency, Jitter: p.Jitter, Blackhole: p.Blackhole, Reset: p.Reset, BandwidthBytesPerSec: p.Bandwidth}
	if s == (LinkSettings{}) {
		return nil, &ParamError{Msg: "set at least one of latency, jitter, blackhole, reset, bandwidth"}
	}
	return FaultFunc(func(env Env) (func(), error) {
		l, err := env.Link(p.Link)
		if err != nil {
			return nil, err
		}
		layer := l.Add(s)
		layerEffect(env, "time", func(met string) string {
			return "shaped link " + p.Link + " (" + s.describe() + "): it acted on writes, reads, connections or dials " + met
		}, layer)
		return layer.Remove, nil
	}), nil
}

// describe words the settings: "latency 50ms, jitter 5ms", "reset".
func (s LinkSettings) describe() string {
	var parts []string
	if s.Latency > 0 {
		parts = append(parts, "latency "+s.Latency.String())
	}
	if s.Jitter > 0 {
		parts = append(parts, "jitter "+s.Jitter.String())
	}
	if s.Blackhole {
		parts = append(parts, "blackhole")
	}
	if s.Reset {
		parts = append(parts, "reset")
	}
	if s.BandwidthBytesPerSec > 0 {
		parts = append(parts, fmt.Sprintf("bandwidth %d B/s", s.BandwidthBytesPerSec))
	}
	return strings.Join(parts, ", ")
}
