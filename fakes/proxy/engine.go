package proxy

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc/metadata"
)

// Options are the settings the gRPC and HTTP proxies share.
type Options struct {
	// Seed seeds every random draw (probabilities, jitter), so that a run
	// with the same seed, faults and call sequence draws the same numbers.
	Seed uint64
	// Clock times latencies, bandwidth pacing and header delays; nil is the real clock.
	Clock clockwork.Clock
	// HeaderFaults turns on per-call faults asked for by Envoy-style
	// request headers (x-envoy-fault-abort-grpc-request and friends).
	HeaderFaults bool
	// FaultLog, when not nil, gets one line per applied fault (use a JSON handler).
	FaultLog *slog.Logger
}

// engine is what both proxies share: the fault set, the seeded source,
// the clock, the counters and the fault log.
type engine struct {
	faults  *Faults
	clock   clockwork.Clock
	metrics *Metrics
	log     *slog.Logger
	headers bool

	rngMu sync.Mutex
	rng   *rand.Rand
}

// seedStream is the PCG stream: the ASCII of "jitproxy".
const seedStream = 0x6a697470726f7879

func newEngine(proto Protocol, o Options) *engine {
	e := &engine{
		faults:  NewFaults(proto),
		clock:   o.Clock,
		metrics: NewMetrics(),
		log:     o.FaultLog,
		headers: o.HeaderFaults,
		rng:     rand.New(rand.NewPCG(o.Seed, seedStream)),
	}
	if e.clock == nil {
		e.clock = clockwork.NewRealClock()
	}
	return e
}

func (e *engine) int64N(n int64) int64 {
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return e.rng.Int64N(n)
}

// draw reports whether an event of probability p happens; certain and
// impossible events take no draw, so adding a p=1 fault does not shift
// the draws of the others.
func (e *engine) draw(p float64) bool {
	if p >= 1 {
		return true
	}
	if p <= 0 {
		return false
	}
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return e.rng.Float64() < p
}

func (e *engine) newCall(proto Protocol, method string, md metadata.MD, deadline time.Time) *Call {
	return &Call{Method: method, MD: md, Protocol: proto, eng: e, deadline: deadline}
}

// apply counts the call and runs the faults selected for it, header faults
// first, then the set in order; the first error ends the call.
func (e *engine) apply(ctx context.Context, c *Call) error {
	e.metrics.seen(c.Method)
	if e.headers {
		if err := e.headerFaults(ctx, c); err != nil {
			return err
		}
	}
	for _, en := range e.faults.snapshot() {
		if !en.match.match(c.Method) || !e.draw(*en.spec.Probability) {
			continue
		}
		e.metrics.applied(en.spec.Name, en.spec.Kind, c.Method)
		c.notes = c.notes[:0]
		err := en.fault.Apply(ctx, c)
		e.logApplied(ctx, en.spec.Name, en.spec.Kind, c, err)
		if err != nil {
			return err
		}
	}
	return nil
}

// logApplied writes the fault log line of one applied fault.
func (e *engine) logApplied(ctx context.Context, name, kind string, c *Call, err error) {
	if e.log == nil {
		return
	}
	attrs := []any{"fault", name, "kind", kind, "method", c.Method}
	attrs = append(attrs, c.notes...)
	if err != nil {
		attrs = append(attrs, "ended_call", err.Error())
	}
	e.log.InfoContext(ctx, "fault applied", attrs...)
}
