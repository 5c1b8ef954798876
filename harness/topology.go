package harness

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/scenarios"
)

// Topologies a scenario runs on. Each is one file, topology_NAME.go, that
// registers it: what it starts, and what faults can act on it.
const (
	// TopologyInProcess connects every part over in-memory bufconn listeners.
	TopologyInProcess = "inprocess"
	// TopologyTCP connects every part over loopback TCP (127.0.0.1:0 listeners).
	TopologyTCP = "tcp"
	// TopologyContainer runs the broker and the service in Docker containers
	// on a private network (package containers); the caller stays in this
	// process and reaches them on their published ports.
	TopologyContainer = "container"
	// TopologyExternal runs a scenario against the user's own service, which a
	// target config describes (the conformance suite's): the caller signs
	// credentials in the service's layout with the keys it trusts, and gets
	// each grant through the reference broker, which jitbench runs in this
	// process so approval faults act on it.
	TopologyExternal = "external"
)

// topologyOrder is the order Topologies lists them in, for help and messages.
var topologyOrder = []string{TopologyInProcess, TopologyTCP, TopologyContainer, TopologyExternal}

// Topologies lists the topologies the harness can start, for flag help and validation.
func Topologies() []string { return slices.Clone(topologyOrder) }

// topology is one place a scenario runs: what can act there (reach), and
// how its system starts.
type topology interface {
	reach
	// name is the topology's name, as --topology and a scenario's topology: spell it.
	name() string
	// start starts the scenario's system for e, after preflight.
	start(ctx context.Context, e *Env) (system, error)
	// abandon releases what the opener took when no system started.
	abandon()
}

// opener makes the topology for one run; a topology that needs something
// before preflight (the user's service, connected) gets it here.
type opener func(ctx context.Context, o startOptions) (topology, error)

// openers are the registered topologies, by name.
var openers = map[string]opener{}

// registerTopology makes name startable; it panics on a duplicate or a
// name missing from topologyOrder: programming errors, found at init.
func registerTopology(name string, open opener) {
	if _, dup := openers[name]; dup || !slices.Contains(topologyOrder, name) {
		panic(fmt.Sprintf("harness: topology %q registered twice or not listed in topologyOrder", name))
	}
	openers[name] = open
}

// openTopology makes the topology called name for one run.
func openTopology(ctx context.Context, name string, o startOptions) (topology, error) {
	open, ok := openers[name]
	if !ok {
		return nil, fmt.Errorf("topology %q is not supported here (want one of %s)", name, strings.Join(Topologies(), ", "))
	}
	return open(ctx, o)
}

// reach says what faults can act on in a topology. The Env enforces it
// while faults run, and preflight checks every fault against it before
// anything starts: each method refuses, saying why, what the topology
// cannot do.
type reach interface {
	// skewed refuses a skew of target's clock (client, service or broker) by offset.
	skewed(target string, offset time.Duration) error
	// link refuses the network link name.
	link(name string) error
	// rotate refuses a rotation of the grant signing key.
	rotate() error
	// build refuses service knobs that change how the service is built.
	build(s fakes.ServiceSettings) error
	// keySource returns the key source the service reads its keys from, or refuses.
	keySource() (fakes.KeySource, error)
	// revoke refuses a revocation of the active grants.
	revoke() error
	// containers refuses the container faults.
	containers() error
	// proxied refuses the fault proxy in front of the service.
	proxied() error
	// streams refuses calls the knobs send to method (a streaming one) instead of the scenario's.
	streams(method string) error
	// settings refuses scenario settings the topology cannot honour.
	settings(sc scenarios.Scenario) error
	// measurable refuses measurements the topology gives no way to take.
	measurable(names []string) error
	// unforgeable words a token mutation the service's keys or layout cannot make (fakes.ErrNotApplicable).
	unforgeable(err error) error
	// forger is the forger of credential the token mutations use, for env.
	forger(env fakes.Env, credential string) (*fakes.Forger, error)
	// reviewPoll is how often the scripted reviewer looks for pending requests.
	reviewPoll() time.Duration
}
