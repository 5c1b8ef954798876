package fakes

import (
	"context"
	"fmt"
	"sync"

	"github.com/jonboulle/clockwork"
)

// fakeEnv is a topology with nothing running: clocks, links and knobs the
// faults act on, and a broker that records what it was asked to do.
type fakeEnv struct {
	clocks  map[string]*SkewClock
	links   map[string]*Link
	client  ClientKnobs
	service ServiceKnobs
	broker  *fakeBroker
	// ctrs is nil for a topology without containers.
	ctrs *fakeContainers
	seed int64
}

var _ Env = (*fakeEnv)(nil)

func newFakeEnv(base clockwork.Clock) *fakeEnv {
	e := &fakeEnv{clocks: map[string]*SkewClock{}, links: map[string]*Link{}, broker: &fakeBroker{}, seed: 7}
	for _, t := range []string{TargetClient, TargetService, TargetBroker} {
		e.clocks[t] = NewSkewClock(base)
	}
	for _, l := range []string{LinkClientService, LinkClientBroker, LinkServiceBroker} {
		e.links[l] = NewLink(l, 1, WithLinkClock(base))
	}
	return e
}

func (e *fakeEnv) Clock(target string) (*SkewClock, error) {
	if c, ok := e.clocks[target]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("no clock %q", target)
}

func (e *fakeEnv) Link(name string) (*Link, error) {
	if l, ok := e.links[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("no link %q", name)
}

func (e *fakeEnv) Client() *ClientKnobs   { return &e.client }
func (e *fakeEnv) Service() *ServiceKnobs { return &e.service }
func (e *fakeEnv) Broker() BrokerControl  { return e.broker }
func (e *fakeEnv) Seed() int64            { return e.seed }

func (e *fakeEnv) Containers() (Containers, error) {
	if e.ctrs == nil {
		return nil, fmt.Errorf("%w (this one has none)", ErrNoContainers)
	}
	return e.ctrs, nil
}

// fakeContainers records the container operations faults ask for; fail
// makes the named one fail.
type fakeContainers struct {
	mu    sync.Mutex
	calls []string
	fail  string
}

func (c *fakeContainers) record(call string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
	if call == c.fail {
		return fmt.Errorf("%s: the engine refused", call)
	}
	return nil
}

func (c *fakeContainers) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *fakeContainers) PauseBroker(context.Context) error     { return c.record("PauseBroker") }
func (c *fakeContainers) UnpauseBroker(context.Context) error   { return c.record("UnpauseBroker") }
func (c *fakeContainers) KillBroker(context.Context) error      { return c.record("KillBroker") }
func (c *fakeContainers) RestartBroker(context.Context) error   { return c.record("RestartBroker") }
func (c *fakeContainers) DisconnectVault(context.Context) error { return c.record("DisconnectVault") }
func (c *fakeContainers) ReconnectVault(context.Context) error  { return c.record("ReconnectVault") }

// fakeBroker records the control calls faults make.
type fakeBroker struct {
	mu       sync.Mutex
	approver Approver
	calls    []string
	err      error
}

func (b *fakeBroker) SetApprover(a Approver) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.approver = a
	b.calls = append(b.calls, fmt.Sprintf("SetApprover(%t)", a != nil))
}

func (b *fakeBroker) record(call string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, call)
	return b.err
}

func (b *fakeBroker) RevokeActive(context.Context) (int, error) { return 3, b.record("RevokeActive") }
func (b *fakeBroker) RotateKey(context.Context) error           { return b.record("RotateKey") }
func (b *fakeBroker) Restart(context.Context) error             { return b.record("Restart") }

func (b *fakeBroker) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *fakeBroker) Approver() Approver {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.approver
}
