package harness

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/measure"
	"github.com/jitbench/jitbench/scenarios"
)

// ErrNotOnTarget is wrapped by the refusal of what cannot act on the user's
// service (topology external): a fault that changes how the service is
// built or runs, which jitbench does not control there, or one that needs
// what the target config does not give (a key source, a revoke hook, a
// stream method).
var ErrNotOnTarget = errors.New("cannot act on an external target")

// ErrNeedsTarget is wrapped by a refusal to run on topology external without a target config.
var ErrNeedsTarget = errors.New("topology external needs a target config (--target FILE)")

// notOnTarget words the refusal of what cannot act on the user's service, and why.
func notOnTarget(what, why string) error {
	return fmt.Errorf("%s %w: %s", what, ErrNotOnTarget, why)
}

// externalTopology is the user's own service, connected before preflight:
// what it offers (a key source jitbench serves, a revoke hook, a stream
// method) decides what can act on it.
type externalTopology struct{ x *externalSystem }

var _ topology = externalTopology{}

func init() {
	registerTopology(TopologyExternal, func(ctx context.Context, o startOptions) (topology, error) {
		if o.target == nil {
			return nil, ErrNeedsTarget
		}
		x, err := openExternal(ctx, o.target)
		if err != nil {
			return nil, err
		}
		return externalTopology{x}, nil
	})
}

func (externalTopology) name() string { return TopologyExternal }

func (t externalTopology) start(_ context.Context, e *Env) (system, error) {
	if err := t.x.start(e); err != nil {
		return nil, err
	}
	return t.x, nil
}

// skewed refuses a skew of the service's clock: it keeps its own host's time.
func (externalTopology) skewed(target string, offset time.Duration) error {
	if target == fakes.TargetService && offset != 0 {
		return notOnTarget("skewing the service's clock", "it keeps its own host's time; skew the broker's clock (the issuer's minted times) or the client's instead")
	}
	return nil
}

// link refuses the service-broker link: the service does not call jitbench's broker.
func (externalTopology) link(name string) error {
	if name == fakes.LinkServiceBroker {
		return fmt.Errorf("%w: %w", fakes.ErrNoLink, notOnTarget("the service-broker link", "the service does not call jitbench's broker (a key-source fault acts on the keys it reads from jitbench)"))
	}
	return nil
}

// rotate refuses a key rotation where jitbench does not serve the service's keys.
func (t externalTopology) rotate() error {
	if t.x.session.KeySource() == nil {
		return notOnTarget("rotating the grant signing key", errNoKeySource.Error())
	}
	return nil
}

// build refuses every knob that changes how the service is built: it is the user's.
func (externalTopology) build(s fakes.ServiceSettings) error {
	if changes := buildChanges(s); len(changes) > 0 {
		return notOnTarget("building the service with "+strings.Join(changes, ", "), "the service is built by you, not by jitbench")
	}
	return nil
}

// keySource returns the key source jitbench serves the service, where the config has one.
func (t externalTopology) keySource() (fakes.KeySource, error) {
	ks := t.x.session.KeySource()
	if ks == nil {
		return nil, fmt.Errorf("%w, so the key source %w: this target config has none", fakes.ErrNoKeySource, ErrNotOnTarget)
	}
	counted, ok := ks.(fakes.KeySource)
	if !ok {
		return nil, notOnTarget("the key source", "a key source of your own (Config.KeySource) must count the fetches an outage met (OutageFetches) for a key-source fault")
	}
	return counted, nil
}

// revoke refuses a revocation on a target without a revoke hook.
func (t externalTopology) revoke() error {
	if t.x.session.Config().Revoker == nil {
		return notOnTarget("revoking the active grants", errNoRevoker.Error())
	}
	return nil
}

func (externalTopology) containers() error {
	return fmt.Errorf("%w (this run: %s)", fakes.ErrNoContainers, TopologyExternal)
}

func (externalTopology) proxied() error { return nil }

// streams refuses calls sent to a stream on a target config without a stream method.
func (t externalTopology) streams(method string) error {
	cfg := t.x.session.Config()
	switch {
	case method == "" || method == cfg.Method.Method:
		return nil
	case t.x.streams(method) && !t.x.session.HasStream():
		return notOnTarget("sending the calls to a stream", "the target config names no stream method (stream:)")
	case !t.x.streams(method):
		return notOnTarget("calling "+method, "the target config names only its method "+cfg.Method.Method+" and its stream method")
	}
	return nil
}

// defaultSettings is a scenario that sets nothing, as the loader and the
// harness fill it in: what a scenario's settings are compared with.
var defaultSettings = sync.OnceValue(func() scenarios.Scenario {
	sc, err := scenarios.Parse("defaults", []byte("name: defaults\nsummary: s.\nexpect: {codes: {OK: 100%}}\n"), scenarios.LoadOptions{})
	if err != nil {
		panic("harness: the empty scenario does not load: " + err.Error())
	}
	return withDefaults(*sc)
})

// settings refuses the scenario settings that configure the reference's
// service, or the reference client's request, none of which reaches a
// user's service: its config says those things.
func (externalTopology) settings(sc scenarios.Scenario) error {
	def := defaultSettings()
	var set []string
	if !reflect.DeepEqual(sc.Service, def.Service) {
		set = append(set, "service (the reference's verifier: your service has its own)")
	}
	if sc.Broker.Algorithm != def.Broker.Algorithm {
		set = append(set, "broker.algorithm (grants are signed with the target config's keys)")
	}
	if !slices.Equal(sc.Broker.PolicyMethods, def.Broker.PolicyMethods) {
		set = append(set, "broker.policy_methods")
	}
	c, d := sc.Client, def.Client
	if c.Subject != d.Subject || c.Method != d.Method || c.Resource != d.Resource || c.GrantResource != d.GrantResource ||
		!slices.Equal(c.GrantScope, d.GrantScope) {
		set = append(set, "client.subject, method, resource, grant_scope and grant_resource (the target config names the subject, the method, its payload and the grant's scope)")
	}
	if len(set) == 0 {
		return nil
	}
	return notOnTarget("the scenario's "+strings.Join(set, "; "), "they configure the reference system")
}

// measurable refuses a measurement the target config gives no way to take:
// a revocation without a revoke hook, a key rotation without a key source
// jitbench serves.
func (t externalTopology) measurable(names []string) error {
	cfg := t.x.session.Config()
	for _, name := range names {
		switch {
		case name == measure.NameRevocation && cfg.Revoker == nil:
			return notOnTarget("measuring revocation", errNoRevoker.Error())
		case name == measure.NameKeyRotation && cfg.KeySource == nil:
			return notOnTarget("measuring key rotation", errNoKeySource.Error())
		}
	}
	return nil
}

// unforgeable: a forgery the service's keys or layout cannot make is not this service's scenario.
func (externalTopology) unforgeable(err error) error {
	if errors.Is(err, ErrNotOnTarget) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrNotOnTarget, err)
}

func (externalTopology) reviewPoll() time.Duration { return reviewPoll }

// abandon releases what a run that never started took: the connection to
// the service, and the broker or proxy if they had started.
func (t externalTopology) abandon() { _ = t.x.close() }

// forger is the service's own layout and keys.
func (t externalTopology) forger(_ fakes.Env, credential string) (*fakes.Forger, error) {
	return t.x.forger(credential)
}
