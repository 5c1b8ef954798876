package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/proxy"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/scenarios"
)

// errNotRunning is what a local system's broker calls return before it started.
var errNotRunning = errors.New("the system is not running")

// localSystem is the reference system in this process (topologies
// inprocess and tcp): stack.StartSystem on endpoints that outlive a broker
// restart, the service reaching the broker over the service-broker link.
type localSystem struct {
	topo      string
	alg       string // the broker's signing algorithm, for rotations
	seed      int64
	reviewer  broker.Caller
	brokerEP  *endpoint
	serviceEP *endpoint
	// proxy stands between the caller and the service, at proxyEP, for a
	// scenario with a grpc-fault fault; nil (and nothing in between) otherwise.
	proxy   *proxy.Proxy
	proxyEP *endpoint

	// mu guards sys.Broker and sys.BrokerServer, which a broker restart replaces, and rotations.
	mu        sync.RWMutex
	sys       *stack.System
	rotations int
}

var _ system = (*localSystem)(nil)

// startLocal starts the broker and the protected service of e's scenario
// in this process, with the service knobs as static faults left them.
func startLocal(ctx context.Context, e *Env) (_ *localSystem, err error) {
	l := &localSystem{topo: e.topo, alg: e.sc.Broker.Algorithm, seed: e.sc.Seed, reviewer: e.reviewer.caller}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if l.brokerEP, err = newEndpoint(e.topo); err != nil {
		return nil, err
	}
	if l.serviceEP, err = newEndpoint(e.topo); err != nil {
		return nil, err
	}
	knobs := e.service.Use() // the build is the service knobs' one use
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
		DialBroker:   e.links[fakes.LinkServiceBroker].Dialer(l.brokerEP.dialer()),
	}
	if len(knobs.Algorithms) > 0 {
		cfg.Service.GrantAlgorithms = knobs.Algorithms
	}
	if knobs.Leeway > 0 {
		cfg.Service.Leeway = knobs.Leeway
	}
	if cfg.RevocationMode, err = brokerclient.ParseMode(svc.RevocationMode); err != nil {
		return nil, err
	}
	cfg.Policy = scenarioPolicy(e.sc)
	if e.sc.Broker.Approval == ApprovalAuto {
		cfg.AutoApprove = e.sc.Broker.AutoApprove
	}
	if cfg.GrantKeys, err = brokerKeys(e.sc.Broker.Algorithm); err != nil {
		return nil, err
	}
	if knobs.WrongGrantKeys {
		cfg.ServiceGrantKeys = wrongGrantKeys()
	}
	if l.sys, err = stack.StartSystem(ctx, cfg, l.brokerEP.listener(), l.serviceEP.listener()); err != nil {
		return nil, err
	}
	if usesProxy(e.sc) {
		if err := l.startProxy(); err != nil {
			return nil, fmt.Errorf("start the fault proxy: %w", err)
		}
	}
	return l, nil
}

// usesProxy reports whether sc has a fault that acts through the fault proxy.
func usesProxy(sc scenarios.Scenario) bool {
	return slices.ContainsFunc(sc.Faults, func(f scenarios.Fault) bool { return f.Kind == fakes.KindGRPCFault })
}

// startProxy puts a fault proxy, with no faults yet, in front of the
// service: the caller dials it (dialService), and it dials the service.
// Its draws follow the run's seed.
func (l *localSystem) startProxy() error {
	px, err := proxy.New(proxy.Config{
		Upstream:    "passthrough:///service",
		Options:     proxy.Options{Seed: uint64(l.seed)},
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(l.serviceEP.dialer())},
	})
	if err != nil {
		return err
	}
	ep, err := newEndpoint(l.topo)
	if err != nil {
		px.Stop()
		return err
	}
	l.proxy, l.proxyEP = px, ep
	go func() { _ = px.Serve(ep.listener()) }()
	return nil
}

// scenarioPolicy is the broker's policy for sc: the default one, its rules
// covering only sc's policy methods when it names some; nil (the
// broker's built-in default) when it names none.
func scenarioPolicy(sc scenarios.Scenario) *policy.Policy {
	if len(sc.Broker.PolicyMethods) == 0 {
		return nil
	}
	p := policy.Default()
	for i := range p.Rules {
		p.Rules[i].Match.Methods = slices.Clone(sc.Broker.PolicyMethods)
	}
	return p
}

// withBroker calls fn with the system while no restart can replace its broker.
func (l *localSystem) withBroker(fn func(sys *stack.System) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.sys == nil {
		return errNotRunning
	}
	return fn(l.sys)
}

func (l *localSystem) dialBroker(ctx context.Context, addr string) (net.Conn, error) {
	return l.brokerEP.dialer()(ctx, addr)
}

// dialService reaches the fault proxy where there is one, else the service.
func (l *localSystem) dialService(ctx context.Context, addr string) (net.Conn, error) {
	if l.proxyEP != nil {
		return l.proxyEP.dialer()(ctx, addr)
	}
	return l.serviceEP.dialer()(ctx, addr)
}

func (l *localSystem) listRequests(ctx context.Context, in *jitv1.ListRequestsRequest) (out *jitv1.ListRequestsResponse, err error) {
	err = l.withBroker(func(sys *stack.System) error {
		out, err = sys.Broker.ListRequests(ctx, l.reviewer, in)
		return err
	})
	return out, err
}

func (l *localSystem) review(ctx context.Context, in *jitv1.ReviewRequest) error {
	return l.withBroker(func(sys *stack.System) error {
		_, err := sys.Broker.Review(ctx, l.reviewer, in)
		return err
	})
}

func (l *localSystem) revoke(ctx context.Context, in *jitv1.RevokeRequest) error {
	return l.withBroker(func(sys *stack.System) error {
		_, err := sys.Broker.Revoke(ctx, l.reviewer, in)
		return err
	})
}

// rotateKey rotates to a key of the current signing algorithm, derived
// from the run's seed so reruns sign alike.
func (l *localSystem) rotateKey(context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rotations++
	kid := token.DevKeyID(token.DevGrantIssuer, l.alg) + "-rotated-" + strconv.Itoa(l.rotations)
	var (
		next *token.Key
		err  error
	)
	if l.alg == token.RS256 {
		next, err = token.GenerateKey(l.alg, kid)
	} else {
		next, err = token.DeriveKey(l.alg, kid, fmt.Sprintf("jitbench run %d rotation %d", l.seed, l.rotations))
	}
	if err != nil {
		return "", err
	}
	if err := l.sys.Broker.Rotate(next); err != nil {
		return "", err
	}
	return kid, nil
}

// restartBroker stops the broker (every stream to it breaks) and starts a
// new one on the same store at the same address.
func (l *localSystem) restartBroker(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sys.RestartBroker(l.brokerEP.listener())
}

func (l *localSystem) handlerRuns() (int64, bool) {
	return l.sys.Service.Vault.TotalHandlerCalls(), true
}

func (l *localSystem) decisions(_ context.Context, rec *Record) error {
	return l.withBroker(func(sys *stack.System) error {
		return sys.Broker.Audit(0, func(r store.AuditRecord) bool {
			addDecision(rec, r)
			return true
		})
	})
}

func (l *localSystem) containers() (fakes.Containers, error) {
	return nil, localTopology{l.topo}.containers()
}

func (l *localSystem) close() error {
	if l.proxy != nil {
		l.proxy.Stop()
	}
	l.mu.Lock()
	if l.sys != nil {
		l.sys.Stop()
	}
	l.mu.Unlock()
	for _, ep := range []*endpoint{l.proxyEP, l.serviceEP, l.brokerEP} {
		if ep != nil {
			ep.Close()
		}
	}
	return nil
}
