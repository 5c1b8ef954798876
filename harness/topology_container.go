package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/scenarios"
)

// ErrNeedsLocal is wrapped by the refusal of a scenario setting or fault
// that the container topology cannot honour: it acts inside the broker or
// the service, which run their own code in their containers there.
var ErrNeedsLocal = errors.New("needs topology inprocess or tcp")

// needsLocal words the refusal of what only an in-process system can do, and why.
func needsLocal(what, why string) error {
	return fmt.Errorf("%s %w: %s", what, ErrNeedsLocal, why)
}

// containerTopology is the reference broker and Vault in Docker containers
// (package containers): the container faults act there, and nothing that
// reaches inside their processes does.
type containerTopology struct{}

var _ topology = containerTopology{}

func init() {
	registerTopology(TopologyContainer, func(context.Context, startOptions) (topology, error) { return containerTopology{}, nil })
}

func (containerTopology) name() string { return TopologyContainer }

func (containerTopology) start(ctx context.Context, e *Env) (system, error) {
	c, err := startCluster(ctx, e)
	if err != nil {
		return nil, err // never a typed nil
	}
	return c, nil
}

// skewed refuses a skew of the broker's or the service's clock: their
// processes keep the engine's time. (Reading those clocks is fine: a
// forger places its time cases against the service's.)
func (containerTopology) skewed(target string, offset time.Duration) error {
	if target == fakes.TargetClient || offset == 0 {
		return nil
	}
	return needsLocal("skewing the "+target+"'s clock", "in a container it keeps the engine's time")
}

// link refuses the service-broker link: it runs between the containers.
func (containerTopology) link(name string) error {
	if name != fakes.LinkServiceBroker {
		return nil
	}
	return needsLocal("the service-broker link", "in containers it runs between them (network-partition cuts it there)")
}

// rotate refuses key rotation: the broker's API has no call for it.
func (containerTopology) rotate() error {
	return needsLocal("rotating the broker's signing key", "the broker's API has no call for it")
}

// build refuses knobs that change how the service is built.
func (containerTopology) build(s fakes.ServiceSettings) error {
	if changes := buildChanges(s); len(changes) > 0 {
		return needsLocal("building the service with "+strings.Join(changes, ", "), "the Vault in its container starts from the scenario's settings alone")
	}
	return nil
}

func (containerTopology) keySource() (fakes.KeySource, error) {
	return localTopology{TopologyContainer}.keySource()
}

func (containerTopology) revoke() error     { return nil }
func (containerTopology) containers() error { return nil }

// proxied refuses the fault proxy: the caller dials the Vault's container
// on its published port, with nothing in between.
func (containerTopology) proxied() error {
	return fmt.Errorf("%w, which %w: the caller dials the Vault's container directly", fakes.ErrNoProxy, ErrNeedsLocal)
}

func (containerTopology) streams(string) error { return nil }

// settings refuses a broker algorithm other than the image's.
func (containerTopology) settings(sc scenarios.Scenario) error {
	if sc.Broker.Algorithm != token.EdDSA {
		return needsLocal("broker.algorithm "+sc.Broker.Algorithm, "the broker image signs with its development EdDSA key")
	}
	return nil
}

func (containerTopology) measurable(names []string) error { return measuresNeedTarget(names) }
func (containerTopology) unforgeable(err error) error     { return err }
func (containerTopology) abandon()                        {}
func (containerTopology) reviewPoll() time.Duration       { return reviewPollContainer }

func (containerTopology) forger(env fakes.Env, credential string) (*fakes.Forger, error) {
	return fakes.DevForger(env, credential)
}

// buildChanges words the service knobs that change how it is built.
func buildChanges(s fakes.ServiceSettings) []string {
	var changes []string
	if len(s.Algorithms) > 0 {
		changes = append(changes, "its algorithm list")
	}
	if s.WrongGrantKeys {
		changes = append(changes, "the wrong grant keys")
	}
	if s.NoStreamInterceptor {
		changes = append(changes, "no stream interceptor")
	}
	if s.Leeway > 0 {
		changes = append(changes, "another leeway")
	}
	return changes
}
