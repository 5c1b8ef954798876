package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/proxy"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/scenarios"
)

// Env is one scenario's running topology: the broker, the protected service
// and the caller, each on its own skewable clock, connected over faultable
// links. It implements fakes.Env, so faults act on it while calls run.
type Env struct {
	sc      scenarios.Scenario // defaults filled in
	topo    string
	reach   topology // where it runs, and what can act there
	clocks  map[string]*fakes.SkewClock
	links   map[string]*fakes.Link
	client  fakes.ClientKnobs
	service fakes.ServiceKnobs

	sys      system
	reviewer *reviewer
	caller   *caller
	ran      bool         // Run happened: the timeline's faults are spent
	faults   []*scheduled // the dynamic faults, for the timeline
	static   []*scheduled // the static faults, applied by Start, removed at Close
	closed   bool
	// acts is what the faults act on: the Env itself, or a probe that
	// keeps every fault away from the system (startOptions.neutered).
	acts fakes.Env

	// reported holds errors of parts that cannot return them (a container
	// fault's undoing operation); Run and Close return them.
	errMu    sync.Mutex
	reported []error
}

var _ fakes.Env = (*Env)(nil)

// Start builds the whole system for sc on topology topo ("" means the
// scenario's own, else in-process): it checks that every setting and fault
// of sc can act on that topology, creates the faults, applies the static
// ones, starts the broker and the protected service with the scenario's
// settings, and connects the caller. The dynamic faults wait for Run. Close
// the Env when done.
//
// On topology container the broker and the Vault run in containers
// (package containers), built from this jitbench: the error wraps
// ErrNoEngine where no Docker engine answers. A scenario that needs what
// containers cannot do (ErrNeedsLocal) or a container fault elsewhere
// (fakes.ErrNoContainers) is refused before anything starts, naming the
// fault's file:line:col.
func Start(ctx context.Context, sc *scenarios.Scenario, topo string) (*Env, error) {
	return start(ctx, sc, topo, startOptions{})
}

// startOptions are what tests change about Start.
type startOptions struct {
	// extra are faults in front of the scenario's own, for tests that need
	// a fault the registry does not have.
	extra []fakes.Fault
	// neutered applies every fault to a probe instead of the system: each
	// fault runs as usual, on its schedule, but nothing of it reaches the
	// system. A scenario must fail so: it proves its faults acted.
	neutered bool
	// target describes the user's service, for topology external.
	target *conformance.Config
}

// start is Start with the test-only options o.
func start(ctx context.Context, sc *scenarios.Scenario, topo string, o startOptions) (_ *Env, err error) {
	if sc == nil {
		return nil, errors.New("harness: no scenario")
	}
	if topo == "" {
		topo = sc.Topology
	}
	if o.target != nil {
		topo = TopologyExternal
	}
	if topo == "" {
		topo = TopologyInProcess
	}
	if sc.Topology == TopologyExternal && topo != TopologyExternal {
		// Its expectations (diagnoses, measurements) are told for a user's service only.
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, ErrNeedsTarget)
	}
	e := &Env{sc: withDefaults(*sc), topo: topo}
	// Opened before preflight: what a user's service offers decides what can act on it.
	if e.reach, err = openTopology(ctx, topo, o); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
			if e.sys == nil {
				e.reach.abandon()
			}
		}
	}()
	if err := preflight(e.sc, e.reach); err != nil {
		return nil, fmt.Errorf("scenario %s on topology %s: %w", sc.Name, topo, err)
	}
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
	e.acts = e
	if o.neutered {
		e.acts = newProbe(e.reach, e.sc.Seed)
	}

	faults, err := newFaults(e.sc)
	if err != nil {
		return nil, err
	}
	pre := make([]*scheduled, 0, len(o.extra))
	for _, f := range o.extra {
		st, ok := f.(fakes.Static)
		pre = append(pre, &scheduled{spec: scenarios.Fault{Kind: "extra"}, index: -1, impl: f, static: ok && st.Static()})
	}
	faults = append(pre, faults...)
	for _, f := range faults {
		if !f.static {
			e.faults = append(e.faults, f)
			continue
		}
		e.static = append(e.static, f)
		err := f.applyNow(e.acts, 0)
		if err == nil {
			err = e.reach.build(e.service.Settings())
		}
		if err != nil {
			return nil, fmt.Errorf("scenario %s: fault %s: %w", sc.Name, f.spec.Kind, err)
		}
	}
	if e.sys, err = e.startSystem(ctx); err != nil {
		return nil, fmt.Errorf("scenario %s: start the system on topology %s: %w", sc.Name, topo, err)
	}
	if e.caller, err = newCaller(e); err != nil {
		return nil, fmt.Errorf("scenario %s: connect the caller: %w", sc.Name, err)
	}
	e.reviewer.start()
	return e, nil
}

// startSystem starts the broker and the service where the topology says.
// A nil system, never a typed nil, comes with an error.
func (e *Env) startSystem(ctx context.Context) (system, error) { return e.reach.start(ctx, e) }

// Scenario returns the scenario the Env runs, with defaults filled in.
func (e *Env) Scenario() scenarios.Scenario { return e.sc }

// Topology returns the topology the Env runs on.
func (e *Env) Topology() string { return e.topo }

// System returns the running reference system; nil on topology container,
// whose system runs in containers. Its Broker field changes on a broker
// restart: use WithBroker to reach the broker while faults run.
func (e *Env) System() *stack.System {
	if l, ok := e.sys.(*localSystem); ok {
		return l.sys
	}
	return nil
}

// WithBroker calls fn with the broker system while no restart can replace
// its broker. On topology container there is none in this process: it
// returns an error wrapping ErrNeedsLocal.
func (e *Env) WithBroker(fn func(sys *stack.System) error) error {
	l, ok := e.sys.(*localSystem)
	if !ok {
		return needsLocal("reaching the broker in this process", "it runs in a container")
	}
	return l.withBroker(fn)
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
	l, ok := e.links[name]
	if !ok {
		return nil, fmt.Errorf("no link %q (want %s, %s or %s)", name, fakes.LinkClientService, fakes.LinkClientBroker, fakes.LinkServiceBroker)
	}
	if err := e.reach.link(name); err != nil {
		return nil, err
	}
	return l, nil
}

// Client implements fakes.Env.
func (e *Env) Client() *fakes.ClientKnobs { return &e.client }

// Service implements fakes.Env.
func (e *Env) Service() *fakes.ServiceKnobs { return &e.service }

// Broker implements fakes.Env.
func (e *Env) Broker() fakes.BrokerControl { return brokerControl{e} }

// Containers implements fakes.Env: the broker's and the Vault's containers
// on topology container; elsewhere an error wrapping fakes.ErrNoContainers.
func (e *Env) Containers() (fakes.Containers, error) {
	if err := e.reach.containers(); err != nil {
		return nil, err
	}
	return e.sys.containers()
}

// Proxy implements fakes.Env: the fault proxy the client reaches the Vault
// through, which the harness starts on topologies inprocess and tcp for a
// scenario with a grpc-fault fault; else an error wrapping fakes.ErrNoProxy.
func (e *Env) Proxy() (*proxy.Proxy, error) {
	if err := e.reach.proxied(); err != nil {
		return nil, err
	}
	if l, ok := e.sys.(*localSystem); ok && l.proxy != nil {
		return l.proxy, nil
	}
	if x, ok := e.sys.(*externalSystem); ok && x.proxy != nil {
		return x.proxy, nil
	}
	return nil, fmt.Errorf("%w (scenario %s has no %s fault, so this run started none)", fakes.ErrNoProxy, e.sc.Name, fakes.KindGRPCFault)
}

// Seed implements fakes.Env.
func (e *Env) Seed() int64 { return e.sc.Seed }

// KeySource implements fakes.Env: the key source jitbench serves the
// user's service on topology external; the reference's service reads its
// keys from the broker (a network fault on the service-broker link cuts it).
func (e *Env) KeySource() (fakes.KeySource, error) { return e.reach.keySource() }

// Forger implements fakes.Env: the target's own layout and keys on
// topology external, else the reference's development keys.
func (e *Env) Forger(credential string) (*fakes.Forger, error) { return e.reach.forger(e, credential) }

// Effect implements fakes.Env. A fault applied by the harness reports its
// effect to its own view of the Env; one applied to the Env directly (a
// test's) is not reported.
func (e *Env) Effect(func() fakes.Effect) {}

// faultRuns reports what every fault of the scenario did, in its order.
func (e *Env) faultRuns() []FaultRun {
	var out []FaultRun
	for _, f := range append(slices.Clone(e.static), e.faults...) {
		if f.index >= 0 {
			out = append(out, f.run())
		}
	}
	slices.SortFunc(out, func(a, b FaultRun) int { return a.Index - b.Index })
	return out
}

// report keeps err (if any) for Run and Close to return.
func (e *Env) report(err error) {
	if err == nil {
		return
	}
	e.errMu.Lock()
	e.reported = append(e.reported, err)
	e.errMu.Unlock()
}

// takeReported returns the errors reported so far, joined, and forgets them.
func (e *Env) takeReported() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	err := errors.Join(e.reported...)
	e.reported = nil
	return err
}

// Close stops the reviewer, the caller and the system (on topology
// container it removes the containers, networks and volume), and undoes the
// static faults. Its error is what could not be removed, or a fault's
// undoing operation that failed since Run.
func (e *Env) Close() error {
	if e.reviewer != nil {
		e.reviewer.stop()
	}
	if e.caller != nil {
		e.caller.close()
	}
	if e.sys != nil && !e.closed {
		e.report(e.sys.close())
	}
	e.closed = true
	for i := len(e.static) - 1; i >= 0; i-- {
		e.static[i].close(0)
	}
	if p, ok := e.acts.(*probe); ok {
		p.close()
	}
	return e.takeReported()
}
