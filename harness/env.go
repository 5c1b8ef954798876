package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/scenarios"
)

// Env is one scenario's running topology: the broker, the protected service
// and the caller, each on its own skewable clock, connected over faultable
// links. It implements fakes.Env, so faults act on it while calls run.
type Env struct {
	sc      scenarios.Scenario // defaults filled in
	topo    string
	clocks  map[string]*fakes.SkewClock
	links   map[string]*fakes.Link
	client  fakes.ClientKnobs
	service fakes.ServiceKnobs

	// mu guards sys.Broker and sys.BrokerServer, which a broker restart replaces.
	mu        sync.RWMutex
	sys       *stack.System
	brokerEP  *endpoint
	serviceEP *endpoint
	rotations int

	reviewer *reviewer
	caller   *caller
	ran      bool         // Run happened: the timeline's faults are spent
	faults   []*scheduled // the dynamic faults, for the timeline
	undo     []func()     // static faults' removes, run at Close
	closers  []func()
}

var _ fakes.Env = (*Env)(nil)

// Start builds the whole system for sc on topology topo ("" means the
// scenario's own, else in-process): it creates the faults, applies the
// static ones, starts the broker and the protected service with the
// scenario's settings, and connects the caller. The dynamic faults wait for
// Run. Close the Env when done.
func Start(ctx context.Context, sc *scenarios.Scenario, topo string) (*Env, error) {
	return start(ctx, sc, topo, nil)
}

// start is Start with extra faults in front of the scenario's own, for
// tests that need a fault the registry does not have.
func start(ctx context.Context, sc *scenarios.Scenario, topo string, extra []fakes.Fault) (_ *Env, err error) {
	if sc == nil {
		return nil, errors.New("harness: no scenario")
	}
	if topo == "" {
		topo = sc.Topology
	}
	if topo == "" {
		topo = TopologyInProcess
	}
	if !slices.Contains(Topologies(), topo) {
		return nil, fmt.Errorf("scenario %s: topology %q is not supported here (want one of %v)", sc.Name, topo, Topologies())
	}
	e := &Env{sc: withDefaults(*sc), topo: topo}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	e.clocks = map[string]*fakes.SkewClock{
		fakes.TargetClient: fakes.NewSkewClock(nil), fakes.TargetService: fakes.NewSkewClock(nil), fakes.TargetBroker: fakes.NewSkewClock(nil),
	}
	// Each link draws its jitter from its own stream of the run's seed.
	e.links = map[string]*fakes.Link{
		fakes.LinkClientService: fakes.NewLink(fakes.LinkClientService, e.sc.Seed),
		fakes.LinkClientBroker:  fakes.NewLink(fakes.LinkClientBroker, e.sc.Seed+1),
		fakes.LinkServiceBroker: fakes.NewLink(fakes.LinkServiceBroker, e.sc.Seed+2),
	}
	e.reviewer = newReviewer(e)

	faults, err := newFaults(e.sc)
	if err != nil {
		return nil, err
	}
	pre := make([]*scheduled, 0, len(extra))
	for _, f := range extra {
		st, ok := f.(fakes.Static)
		pre = append(pre, &scheduled{spec: scenarios.Fault{Kind: "extra"}, impl: f, static: ok && st.Static()})
	}
	faults = append(pre, faults...)
	for _, f := range faults {
		if !f.static {
			e.faults = append(e.faults, f)
			continue
		}
		remove, err := f.impl.Apply(e)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: fault %s: %w", sc.Name, f.spec.Kind, err)
		}
		if remove != nil {
			e.undo = append(e.undo, remove)
		}
	}
	if err := e.startSystem(ctx); err != nil {
		return nil, fmt.Errorf("scenario %s: start the system: %w", sc.Name, err)
	}
	if e.caller, err = newCaller(e); err != nil {
		return nil, fmt.Errorf("scenario %s: connect the caller: %w", sc.Name, err)
	}
	e.reviewer.start()
	return e, nil
}

// startSystem starts the broker and the protected service with the
// scenario's settings and the service knobs as static faults left them.
func (e *Env) startSystem(ctx context.Context) error {
	var err error
	if e.brokerEP, err = newEndpoint(e.topo); err != nil {
		return err
	}
	e.closers = append(e.closers, e.brokerEP.Close)
	if e.serviceEP, err = newEndpoint(e.topo); err != nil {
		return err
	}
	e.closers = append(e.closers, e.serviceEP.Close)

	knobs := e.service.Settings()
	svc := e.sc.Service
	cfg := stack.SystemConfig{
		Service: stack.Config{
			GrantAlgorithms:     svc.Algorithms,
			Leeway:              svc.Leeway,
			MaxGrantLifetime:    svc.MaxGrantLifetime,
			Clock:               e.clocks[fakes.TargetService],
			NoStreamInterceptor: knobs.NoStreamInterceptor,
			AccessHint:          "request access from the scenario's broker (jitbench access request)",
		},
		MaxStaleness: svc.MaxStaleness,
		Clock:        e.clocks[fakes.TargetBroker],
		DialBroker:   e.links[fakes.LinkServiceBroker].Dialer(e.brokerEP.dialer()),
	}
	if len(knobs.Algorithms) > 0 {
		cfg.Service.GrantAlgorithms = knobs.Algorithms
	}
	if knobs.Leeway > 0 {
		cfg.Service.Leeway = knobs.Leeway
	}
	if cfg.RevocationMode, err = brokerclient.ParseMode(svc.RevocationMode); err != nil {
		return err
	}
	if len(e.sc.Broker.PolicyMethods) > 0 {
		cfg.Policy = policy.Default()
		for i := range cfg.Policy.Rules {
			cfg.Policy.Rules[i].Match.Methods = slices.Clone(e.sc.Broker.PolicyMethods)
		}
	}
	if e.sc.Broker.Approval == ApprovalAuto {
		cfg.AutoApprove = e.sc.Broker.AutoApprove
	}
	if cfg.GrantKeys, err = brokerKeys(e.sc.Broker.Algorithm); err != nil {
		return err
	}
	if knobs.WrongGrantKeys {
		cfg.ServiceGrantKeys = wrongGrantKeys()
	}
	sys, err := stack.StartSystem(ctx, cfg, e.brokerEP.listener(), e.serviceEP.listener())
	if err != nil {
		return err
	}
	e.sys = sys
	return nil
}

// Scenario returns the scenario the Env runs, with defaults filled in.
func (e *Env) Scenario() scenarios.Scenario { return e.sc }

// Topology returns the topology the Env runs on.
func (e *Env) Topology() string { return e.topo }

// System returns the running reference system. Its Broker field changes on
// a broker restart: use WithBroker to reach the broker while faults run.
func (e *Env) System() *stack.System { return e.sys }

// WithBroker calls fn with the broker system while no restart can replace its broker.
func (e *Env) WithBroker(fn func(sys *stack.System) error) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.sys == nil {
		return errors.New("the system is not running")
	}
	return fn(e.sys)
}

// ServiceConn returns the caller's connection to the protected service; its
// per-RPC credentials follow the client knobs.
func (e *Env) ServiceConn() *grpc.ClientConn { return e.caller.vaultConn }

// Clock implements fakes.Env.
func (e *Env) Clock(target string) (*fakes.SkewClock, error) {
	if c, ok := e.clocks[target]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("no clock %q (want %s, %s or %s)", target, fakes.TargetClient, fakes.TargetService, fakes.TargetBroker)
}

// Link implements fakes.Env.
func (e *Env) Link(name string) (*fakes.Link, error) {
	if l, ok := e.links[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("no link %q (want %s, %s or %s)", name, fakes.LinkClientService, fakes.LinkClientBroker, fakes.LinkServiceBroker)
}

// Client implements fakes.Env.
func (e *Env) Client() *fakes.ClientKnobs { return &e.client }

// Service implements fakes.Env.
func (e *Env) Service() *fakes.ServiceKnobs { return &e.service }

// Broker implements fakes.Env.
func (e *Env) Broker() fakes.BrokerControl { return brokerControl{e} }

// Seed implements fakes.Env.
func (e *Env) Seed() int64 { return e.sc.Seed }

// Close stops the reviewer, the caller and the system, and undoes the static faults.
func (e *Env) Close() {
	if e.reviewer != nil {
		e.reviewer.stop()
	}
	if e.caller != nil {
		e.caller.close()
	}
	e.mu.Lock()
	if e.sys != nil {
		e.sys.Stop()
	}
	e.mu.Unlock()
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	for i := len(e.undo) - 1; i >= 0; i-- {
		e.undo[i]()
	}
	e.closers, e.undo = nil, nil
}
