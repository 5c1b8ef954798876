package harness

import (
	"context"
	"errors"
	"testing"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/scenarios"
)

// Option changes how a scenario runs.
type Option func(*options)

type options struct {
	topology string
	target   *conformance.Config
	seed     *int64
	neutered bool // the faults act on a probe, not the system (startOptions.neutered)
}

// WithTopology runs on topology (TopologyInProcess, TopologyTCP or TopologyContainer) instead of the scenario's own.
func WithTopology(topology string) Option {
	return func(o *options) { o.topology = topology }
}

// WithTarget runs on the user's own service, which cfg describes
// (topology external), instead of the reference system.
func WithTarget(cfg *conformance.Config) Option {
	return func(o *options) { o.target = cfg }
}

// WithSeed replaces the scenario's seed, to check that a result does not hang on one draw.
func WithSeed(seed int64) Option {
	return func(o *options) { o.seed = &seed }
}

// RunScenario starts sc's system, runs its load with its faults on the
// timeline, and checks its expectations. The error is a scenario that could
// not run (a fault that does not build or apply, a system that does not
// start, containers that could not be removed afterwards); failed
// expectations are in the report. On topology container it wraps
// ErrNoEngine where no Docker engine answers.
func RunScenario(ctx context.Context, sc *scenarios.Scenario, opts ...Option) (*Report, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return runScenario(ctx, sc, o)
}

// runScenario is RunScenario with its options gathered.
func runScenario(ctx context.Context, sc *scenarios.Scenario, o options) (*Report, error) {
	if o.seed != nil && sc != nil {
		copied := *sc
		copied.Seed = *o.seed
		sc = &copied
	}
	env, err := start(ctx, sc, o.topology, startOptions{neutered: o.neutered, target: o.target})
	if err != nil {
		return nil, err
	}
	rec, err := env.Run(ctx)
	if err = errors.Join(err, env.Close()); err != nil {
		return nil, err
	}
	ran := env.Scenario()
	return Evaluate(&ran, env.Topology(), rec), nil
}

// Run runs sc from a Go test and fails t with an expected-vs-got table when
// an expectation does not hold (or stops it when the scenario cannot run).
// A scenario on topology container is skipped, with one line saying why,
// where no Docker engine answers. It returns the report for further
// assertions; nil when the run failed to happen.
func Run(t testing.TB, sc *scenarios.Scenario, opts ...Option) *Report {
	t.Helper()
	rep, err := RunScenario(t.Context(), sc, opts...)
	return judge(t, rep, err)
}

// judge is Run's verdict on a run's report and error: skip, stop or fail t.
func judge(t testing.TB, rep *Report, err error) *Report {
	t.Helper()
	if errors.Is(err, ErrNoEngine) {
		t.Skipf("%v", err)
		return nil
	}
	if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	if !rep.Pass() {
		t.Errorf("%s", rep.Diff())
	}
	return rep
}
