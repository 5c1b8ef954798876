package fakes

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// KindKeySource names the fault that takes down, or slows, the key source
// the service reads its grant keys from.
const KindKeySource = "key-source"

// ErrNoKeySource is what Env.KeySource wraps where jitbench does not serve
// the service's keys.
var ErrNoKeySource = errors.New("needs a service that reads its keys from jitbench (key_source in the target config)")

// KeySource is the key source a service reads its grant keys from, as a fault acts on it.
type KeySource interface {
	// Outage refuses every fetch (delay 0) or answers only after delay, until restore is called.
	Outage(delay time.Duration) (restore func())
	// OutageFetches counts the fetches outages have refused or slowed so far.
	OutageFetches() int64
}

type keySourceParams struct {
	Behaviour string        `param:"behaviour" enum:"down|slow" doc:"down refuses every fetch; slow answers each after delay (default down)"`
	Delay     time.Duration `param:"delay" doc:"how long a slow key source takes to answer (default 2s)"`
}

func init() {
	register(KindKeySource, "takes the key source the service reads its grant keys from down, or makes it slow",
		keySourceParams{}, newKeySource)
	onExternal(KindKeySource, "key source: the JWKS jitbench serves goes down or slow; refused without key_source")
}

func newKeySource(params map[string]any) (Fault, error) {
	p := keySourceParams{Behaviour: "down", Delay: 2 * time.Second}
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Delay <= 0 {
		return nil, &ParamError{Key: "delay", Msg: "must be positive"}
	}
	delay, what := time.Duration(0), "kept the key source down"
	if p.Behaviour == "slow" {
		delay, what = p.Delay, "slowed the key source by "+p.Delay.String()
	}
	return FaultFunc(func(env Env) (func(), error) {
		ks, err := env.KeySource()
		if err != nil {
			return nil, err
		}
		before := ks.OutageFetches()
		restore := ks.Outage(delay)
		// What met it are the service's fetches while it lasted: a service
		// that fetched none (its keys cached for longer) never met it.
		var mu sync.Mutex
		met := int64(-1) // until the window closes
		l := env.Client().Add(func(*ClientSettings) {})
		missed := func() int64 {
			mu.Lock()
			defer mu.Unlock()
			if met >= 0 {
				return met
			}
			return ks.OutageFetches() - before
		}
		env.Effect(func() Effect {
			n := missed()
			return Effect{What: fmt.Sprintf("%s: the service met it on %s, during %s", what, count(n, "fetch"), count(l.Met(), "call")), Met: n}
		})
		return func() {
			mu.Lock()
			met = ks.OutageFetches() - before
			mu.Unlock()
			restore()
			l.Remove()
		}, nil
	}), nil
}
