package fakes

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/fakes/proxy"
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
	// px is nil for a topology without a fault proxy.
	px *proxy.Proxy
	// keys is nil for a topology whose key source jitbench does not serve.
	keys *fakeKeySource
	seed int64

	mu      sync.Mutex
	effects []func() Effect
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

// KeySource implements Env: the fake key source, where the test gave one.
func (e *fakeEnv) KeySource() (KeySource, error) {
	if e.keys == nil {
		return nil, ErrNoKeySource
	}
	return e.keys, nil
}

// fakeKeySource records the outages asked of it: the delay of each, and how many are in force.
type fakeKeySource struct {
	mu     sync.Mutex
	delays []time.Duration
	active int
	missed int64 // fetches the outages met, as the test says
}

func (k *fakeKeySource) OutageFetches() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.missed
}

// fetch is the service fetching during an outage.
func (k *fakeKeySource) fetch() {
	k.mu.Lock()
	k.missed++
	k.mu.Unlock()
}

func (k *fakeKeySource) Outage(delay time.Duration) func() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.delays = append(k.delays, delay)
	k.active++
	return func() {
		k.mu.Lock()
		k.active--
		k.mu.Unlock()
	}
}

// Forger implements Env with the reference's development keys.
func (e *fakeEnv) Forger(credential string) (*Forger, error) { return DevForger(e, credential) }

func (e *fakeEnv) Effect(measure func() Effect) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.effects = append(e.effects, measure)
}

// measured returns the effects the faults recorded, measured now.
func (e *fakeEnv) measured() []Effect {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Effect, len(e.effects))
	for i, m := range e.effects {
		out[i] = m()
	}
	return out
}

func (e *fakeEnv) Containers() (Containers, error) {
	if e.ctrs == nil {
		return nil, fmt.Errorf("%w (this one has none)", ErrNoContainers)
	}
	return e.ctrs, nil
}

func (e *fakeEnv) Proxy() (*proxy.Proxy, error) {
	if e.px == nil {
		return nil, fmt.Errorf("%w (this one has none)", ErrNoProxy)
	}
	return e.px, nil
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

// did records call and, unless it fails, gives the engine's account of it.
func (c *fakeContainers) did(call, account string) (string, error) {
	if err := c.record(call); err != nil {
		return "", err
	}
	return account, nil
}

func (c *fakeContainers) PauseBroker(context.Context) (string, error) {
	return c.did("PauseBroker", "paused the broker")
}
func (c *fakeContainers) UnpauseBroker(context.Context) error { return c.record("UnpauseBroker") }
func (c *fakeContainers) KillBroker(context.Context) (string, error) {
	return c.did("KillBroker", "killed the broker")
}
func (c *fakeContainers) RestartBroker(context.Context) error { return c.record("RestartBroker") }
func (c *fakeContainers) DisconnectVault(context.Context) (string, error) {
	return c.did("DisconnectVault", "cut the Vault off")
}
func (c *fakeContainers) ReconnectVault(context.Context) error { return c.record("ReconnectVault") }

// fakeBroker records the control calls faults make; its reviewers stack
// as the harness's do: the last one set decides.
type fakeBroker struct {
	mu        sync.Mutex
	approvers []*Approver
	calls     []string
	err       error
}

func (b *fakeBroker) SetApprover(a Approver) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := &a
	b.approvers = append(b.approvers, p)
	b.calls = append(b.calls, "SetApprover")
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.calls = append(b.calls, "RemoveApprover")
			for i, x := range b.approvers {
				if x == p {
					b.approvers = append(b.approvers[:i], b.approvers[i+1:]...)
					return
				}
			}
		})
	}
}

func (b *fakeBroker) record(call string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, call)
	return b.err
}

func (b *fakeBroker) RevokeActive(context.Context) (int, error) { return 3, b.record("RevokeActive") }

func (b *fakeBroker) RotateKey(context.Context) (string, error) {
	if err := b.record("RotateKey"); err != nil {
		return "", err
	}
	return "kid-2", nil
}

func (b *fakeBroker) Restart(context.Context) (time.Duration, error) {
	if err := b.record("Restart"); err != nil {
		return 0, err
	}
	return 5 * time.Millisecond, nil
}

func (b *fakeBroker) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// Approver is the reviewer that decides now: the last one set; nil when none is.
func (b *fakeBroker) Approver() Approver {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.approvers) == 0 {
		return nil
	}
	return *b.approvers[len(b.approvers)-1]
}
