package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/proxy"
	"github.com/jitbench/jitbench/scenarios"
)

// preflight checks sc (defaults filled) against what topology topo can
// do, before anything starts: its settings, and each of its faults applied
// once to a probe of the topology (fresh instances, so the run's own are
// untouched). A refusal names the fault's file:line:col.
func preflight(sc scenarios.Scenario, r topology) error {
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
		if errors.Is(err, fakes.ErrNotApplicable) {
			err = r.unforgeable(err)
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
	topology
	seed    int64
	time    *clockwork.FakeClock // under every clock, so a drift shows once time passes
	clocks  map[string]*fakes.SkewClock
	client  fakes.ClientKnobs
	service fakes.ServiceKnobs

	pxMu sync.Mutex
	px   *proxy.Proxy // the stand-in proxy, made when a fault first asks
}

var _ fakes.Env = (*probe)(nil)

func newProbe(r topology, seed int64) *probe {
	p := &probe{topology: r, seed: seed, time: clockwork.NewFakeClock(), clocks: map[string]*fakes.SkewClock{}}
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
	if err := p.streams(knobMethod("", p.client.Settings())); err != nil {
		return err
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
func (p *probe) Broker() fakes.BrokerControl  { return probeBroker{p.topology} }
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
func (probeKeySource) OutageFetches() int64        { return 0 }

// Forger implements fakes.Env: the target's forger on topology external
// (so a case its layout cannot make is refused before the run), else the
// reference's.
func (p *probe) Forger(credential string) (*fakes.Forger, error) { return p.forger(p, credential) }

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
type probeBroker struct{ r topology }

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
