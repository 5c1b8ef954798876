package harness

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/scenarios"
)

// localTopology is the reference system in this process, over bufconn
// (inprocess) or loopback TCP (tcp): every fault can act on it but those
// that need containers, or a key source jitbench serves a user's service.
type localTopology struct{ topo string }

var _ topology = localTopology{}

func init() {
	for _, name := range []string{TopologyInProcess, TopologyTCP} {
		registerTopology(name, func(context.Context, startOptions) (topology, error) { return localTopology{name}, nil })
	}
}

func (t localTopology) name() string { return t.topo }

func (t localTopology) start(ctx context.Context, e *Env) (system, error) {
	l, err := startLocal(ctx, e)
	if err != nil {
		return nil, err // never a typed nil
	}
	return l, nil
}

func (localTopology) skewed(string, time.Duration) error { return nil }
func (localTopology) link(string) error                  { return nil }
func (localTopology) rotate() error                      { return nil }
func (localTopology) build(fakes.ServiceSettings) error  { return nil }
func (localTopology) revoke() error                      { return nil }
func (localTopology) proxied() error                     { return nil }
func (localTopology) streams(string) error               { return nil }
func (localTopology) settings(scenarios.Scenario) error  { return nil }
func (localTopology) unforgeable(err error) error        { return err }
func (localTopology) abandon()                           {}
func (localTopology) reviewPoll() time.Duration          { return reviewPoll }

func (localTopology) keySource() (fakes.KeySource, error) {
	return nil, fmt.Errorf("%w: the reference's service reads its keys from the broker (cut the service-broker link with a network fault instead)", fakes.ErrNoKeySource)
}

func (t localTopology) containers() error {
	return fmt.Errorf("%w (this run: %s)", fakes.ErrNoContainers, t.topo)
}

func (localTopology) measurable(names []string) error { return measuresNeedTarget(names) }

func (localTopology) forger(env fakes.Env, credential string) (*fakes.Forger, error) {
	return fakes.DevForger(env, credential)
}

// measuresNeedTarget refuses measurements on the reference: they are told for a user's service.
func measuresNeedTarget(names []string) error {
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("measure %s: %w", strings.Join(names, ", "), ErrNeedsTarget)
}
