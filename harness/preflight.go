package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/proxy"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/scenarios"
)

// ErrNeedsLocal is wrapped by the refusal of a scenario setting or fault
// that the container topology cannot honour: it acts inside the broker or
// the service, which run their own code in their containers there.
var ErrNeedsLocal = errors.New("needs topology inprocess or tcp")

// reach says what faults can act on in a topology. The Env enforces it
// while faults run, and preflight checks every fault against it before
// anything starts.
type reach struct {
	topo string
	// ext is the user's service on topology external: what it offers
	// (a served key source, a revoke hook) decides some refusals.
	ext *externalSystem
}

// local reports whether the broker and the service run in this process.
func (r reach) local() bool { return r.topo != TopologyContainer && r.topo != TopologyExternal }

// external reports whether the service is the user's own.
func (r reach) external() bool { return r.topo == TopologyExternal }

// ErrNotOnTarget is wrapped by the refusal of a fault that cannot act on
// the user's service (topology external): it changes how the service is
// built or runs, which jitbench does not control there.
var ErrNotOnTarget = errors.New("cannot act on an external target")

// notOnTarget words the refusal of what cannot act on the user's service, and why.
func notOnTarget(what, why string) error {
	return fmt.Errorf("%s %w: %s", what, ErrNotOnTarget, why)
}

// needsLocal words the refusal of what only an in-process system can do, and why.
func needsLocal(what, why string) error {
	return fmt.Errorf("%s %w: %s", what, ErrNeedsLocal, why)
}

// skewed refuses a skew of the broker's or the service's clock in
// containers: their processes keep the engine's time. (Reading those
// clocks is fine: a forger places its time cases against the service's.)
func (r reach) skewed(target string, offset time.Duration) error {
	if r.external() && target == fakes.TargetService && offset != 0 {
		return notOnTarget("skewing the service's clock", "it keeps its own host's time; skew the broker's clock (the issuer's minted times) or the client's instead")
	}
	if r.local() || r.external() || target == fakes.TargetClient || offset == 0 {
		return nil
	}
	return needsLocal("skewing the "+target+"'s clock", "in a container it keeps the engine's time")
}

// link refuses the service-broker link in containers: it runs between them.
func (r reach) link(name string) error {
	if r.external() && name == fakes.LinkServiceBroker {
		return notOnTarget("the service-broker link", "the service does not call jitbench's broker (a key-source fault acts on the keys it reads from jitbench)")
	}
	if r.local() || r.external() || name != fakes.LinkServiceBroker {
		return nil
	}
	return needsLocal("the service-broker link", "in containers it runs between them (network-partition cuts it there)")
}

// rotate refuses key rotation in containers: the broker's API has no call for it.
func (r reach) rotate() error {
	if r.external() {
		if r.ext != nil && r.ext.session.KeySource() == nil {
			return notOnTarget("rotating the grant signing key", errNoKeySource.Error())
		}
		return nil
	}
	if r.local() {
		return nil
	}
	return needsLocal("rotating the broker's signing key", "the broker's API has no call for it")
}

// build refuses knobs that change how the service is built in containers.
func (r reach) build(s fakes.ServiceSettings) error {
	if r.local() {
		return nil
	}
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
	if len(changes) == 0 {
		return nil
	}
	if r.external() {
		return notOnTarget("building the service with "+strings.Join(changes, ", "), "the service is built by you, not by jitbench")
	}
	return needsLocal("building the service with "+strings.Join(changes, ", "), "the Vault in its container starts from the scenario's settings alone")
}

// keySource returns the key source jitbench serves the user's service, or refuses.
func (r reach) keySource() (fakes.KeySource, error) {
	if !r.external() {
		return nil, fmt.Errorf("%w: the reference's service reads its keys from the broker (cut the service-broker link with a network fault instead)", fakes.ErrNoKeySource)
	}
	if r.ext == nil || r.ext.session.KeySource() == nil {
		return nil, fmt.Errorf("%w, so the key source %w: this target config has none", fakes.ErrNoKeySource, ErrNotOnTarget)
	}
	return r.ext.session.KeySource(), nil
}

// revoke refuses a revocation on a target without a revoke hook.
func (r reach) revoke() error {
	if r.external() && r.ext != nil && r.ext.session.Config().Revoker == nil {
		return notOnTarget("revoking the active grants", errNoRevoker.Error())
	}
	return nil
}

// containers refuses the container faults on a topology without containers.
func (r reach) containers() error {
	if r.local() || r.external() {
		return fmt.Errorf("%w (this run: %s)", fakes.ErrNoContainers, r.topo)
	}
	return nil
}

// proxied refuses the fault proxy in containers: the caller dials the
// Vault's container on its published port, with nothing in between.
func (r reach) proxied() error {
	if r.local() || r.external() {
		return nil
	}
	return fmt.Errorf("%w, which %w: the caller dials the Vault's container directly", fakes.ErrNoProxy, ErrNeedsLocal)
}

// settings refuses scenario settings the topology cannot honour.
func (r reach) settings(sc scenarios.Scenario) error {
	if r.topo == TopologyContainer && sc.Broker.Algorithm != token.EdDSA {
		return needsLocal("broker.algorithm "+sc.Broker.Algorithm, "the broker image signs with its development EdDSA key")
	}
	return nil
}

// preflight checks sc (defaults filled) against what topology topo can
// do, before anything starts: its settings, and each of its faults applied
// once to a probe of the topology (fresh instances, so the run's own are
// untouched). A refusal names the fault's file:line:col.
func preflight(sc scenarios.Scenario, r reach) error {
	if err := r.measurable(sc.Measure); err != nil {
		return fmt.Errorf("%s%w", where(sc, nil), err)
	}
	if err := r.settings(sc); err != nil {
		return fmt.Errorf("%s%w", where(sc, nil), err)
	}
	faults, err := newFaults(sc)
	if err != nil {
		return err
	}
	for i, f := range faults {
		p := newProbe(r, sc.Seed)
		remove, err := f.impl.Apply(p)
		if err == nil {
			err = p.check()
		}
		if remove != nil {
			remove()
		}
		p.close()
		if err != nil && r.external() && errors.Is(err, fakes.ErrNotApplicable) && !errors.Is(err, ErrNotOnTarget) {
			// A forgery the service's keys or layout cannot make: not this service's scenario.
			err = fmt.Errorf("%w: %w", ErrNotOnTarget, err)
		}
		if err != nil {
			return fmt.Errorf("%sfault %s: %w", where(sc, &sc.Faults[i]), f.spec.Kind, err)
		}
	}
	return nil
}

// where locates a scenario loaded from a file, or one of its faults, for
// the start of an error: "FILE:LINE:COL: ", "FILE: "; "" for a scenario
// built in Go (the error names it anyway).
func where(sc scenarios.Scenario, f *scenarios.Fault) string {
	switch {
	case sc.File == "":
		return ""
	case f != nil && f.Line > 0:
		return fmt.Sprintf("%s:%d:%d: ", sc.File, f.Line, f.Column)
	}
	return sc.File + ": "
}

// probe is a topology nothing runs on: it answers a fault as the topology
// would, and check tells whether what the fault did there is possible.
type probe struct {
	reach
	seed    int64
	time    *clockwork.FakeClock // under every clock, so a drift shows once time passes
	clocks  map[string]*fakes.SkewClock
	client  fakes.ClientKnobs
	service fakes.ServiceKnobs

	pxMu sync.Mutex
	px   *proxy.Proxy // the stand-in proxy, made when a fault first asks
}

var _ fakes.Env = (*probe)(nil)

func newProbe(r reach, seed int64) *probe {
	p := &probe{reach: r, seed: seed, time: clockwork.NewFakeClock(), clocks: map[string]*fakes.SkewClock{}}
	for _, target := range []string{fakes.TargetClient, fakes.TargetService, fakes.TargetBroker} {
		p.clocks[target] = fakes.NewSkewClock(p.time)
	}
	return p
}

// check refuses what the fault did that the topology cannot do: skew a
// clock it does not control, or build the service differently.
func (p *probe) check() error {
	p.time.Advance(time.Hour)
	for _, target := range []string{fakes.TargetService, fakes.TargetBroker} {
		if err := p.skewed(target, p.clocks[target].Offset()); err != nil {
			return err
		}
	}
	if s := p.client.Settings(); p.external() && s.Method != "" && p.ext != nil && p.ext.streams(s.Method) && !p.ext.session.HasStream() {
		return notOnTarget("sending the calls to a stream", "the target config names no stream method (stream:)")
	}
	return p.build(p.service.Settings())
}

func (p *probe) Clock(target string) (*fakes.SkewClock, error) {
	if c, ok := p.clocks[target]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("no clock %q", target)
}

func (p *probe) Link(name string) (*fakes.Link, error) {
	if err := p.link(name); err != nil {
		return nil, err
	}
	return fakes.NewLink(name, p.seed), nil
}

func (p *probe) Client() *fakes.ClientKnobs   { return &p.client }
func (p *probe) Service() *fakes.ServiceKnobs { return &p.service }
func (p *probe) Broker() fakes.BrokerControl  { return probeBroker{p.reach} }
func (p *probe) Seed() int64                  { return p.seed }

// KeySource implements fakes.Env: a stand-in that does nothing, where the topology has a key source.
func (p *probe) KeySource() (fakes.KeySource, error) {
	if _, err := p.keySource(); err != nil {
		return nil, err
	}
	return probeKeySource{}, nil
}

// probeKeySource accepts an outage and does nothing.
type probeKeySource struct{}

func (probeKeySource) Outage(time.Duration) func() { return func() {} }

// Forger implements fakes.Env: the target's forger on topology external
// (so a case its layout cannot make is refused before the run), else the
// reference's.
func (p *probe) Forger(credential string) (*fakes.Forger, error) {
	if p.ext != nil {
		return p.ext.forger(credential)
	}
	return fakes.DevForger(p, credential)
}

// Effect implements fakes.Env: a probe measures nothing.
func (p *probe) Effect(func() fakes.Effect) {}

// Proxy implements fakes.Env: a proxy that serves nobody, so a fault added
// to it never meets a call, where the topology would have one.
func (p *probe) Proxy() (*proxy.Proxy, error) {
	if err := p.proxied(); err != nil {
		return nil, err
	}
	p.pxMu.Lock()
	defer p.pxMu.Unlock()
	if p.px == nil {
		// Never served, and its upstream never dialled: grpc dials lazily.
		px, err := proxy.New(proxy.Config{Upstream: "passthrough:///jitbench-probe"})
		if err != nil {
			return nil, err
		}
		p.px = px
	}
	return p.px, nil
}

// close stops the stand-in proxy, if a fault asked for one.
func (p *probe) close() {
	p.pxMu.Lock()
	defer p.pxMu.Unlock()
	if p.px != nil {
		p.px.Stop()
	}
}

func (p *probe) Containers() (fakes.Containers, error) {
	if err := p.containers(); err != nil {
		return nil, err
	}
	return probeContainers{}, nil
}

// probeBroker answers the broker controls as the topology would, doing nothing.
type probeBroker struct{ r reach }

func (probeBroker) SetApprover(fakes.Approver) func()              { return func() {} }
func (b probeBroker) RevokeActive(context.Context) (int, error)    { return 0, b.r.revoke() }
func (b probeBroker) RotateKey(context.Context) (string, error)    { return "", b.r.rotate() }
func (probeBroker) Restart(context.Context) (time.Duration, error) { return 0, nil }

// probeContainers accepts every container operation, does nothing, and
// says so: no account of a change.
type probeContainers struct{}

func (probeContainers) PauseBroker(context.Context) (string, error)     { return "", nil }
func (probeContainers) UnpauseBroker(context.Context) error             { return nil }
func (probeContainers) KillBroker(context.Context) (string, error)      { return "", nil }
func (probeContainers) RestartBroker(context.Context) error             { return nil }
func (probeContainers) DisconnectVault(context.Context) (string, error) { return "", nil }
func (probeContainers) ReconnectVault(context.Context) error            { return nil }
