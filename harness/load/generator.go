package load

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
)

// DefaultMaxInFlight bounds the calls in flight of an open-loop run when
// Options.MaxInFlight is zero: enough for 500 calls/s through a 2 s stall.
const DefaultMaxInFlight = 1000

// DefaultDeadline bounds each call when Options.Deadline is zero.
const DefaultDeadline = 10 * time.Second

// Options configure a load run.
type Options struct {
	// Target makes each call.
	Target Target
	// Credentials yield each call's metadata; nil sends none but Header.
	Credentials Credentials
	// Header is metadata sent with every call (-H).
	Header metadata.MD
	// Pacer paces an open-loop run; nil means closed loop with Concurrency workers.
	Pacer Pacer
	// Concurrency is the number of workers of a closed-loop run.
	Concurrency int
	// Interval paces each closed-loop worker: its k-th call is due k·Interval
	// after the run began, or at once when the one before ended later. Zero
	// means back to back.
	Interval time.Duration
	// MaxInFlight caps the calls in flight, and so the goroutines, of an
	// open-loop run; zero means DefaultMaxInFlight. A call due while the cap
	// is reached waits, and its latency still counts from its due time.
	MaxInFlight int
	// Duration is the length of the measured window; zero means no limit.
	Duration time.Duration
	// Calls ends the run after this many measured calls; zero means no limit.
	// A run needs Duration or Calls.
	Calls uint64
	// WarmUp is load run before the measured window and left out of the result.
	WarmUp time.Duration
	// Deadline bounds each call, obtaining its grant included; zero means DefaultDeadline.
	Deadline time.Duration
	// Run describes the run in the result (name, target, method, rate,
	// connections); the generator fills in the mode, window and warm-up.
	Run reports.Run
	// Clock times the schedule and the calls; nil means the real clock.
	Clock clockwork.Clock
	// Observe, when set, is told of every call once it is recorded, on the
	// goroutine of the worker that made it: for a caller that keeps a
	// record of each call beside the result's histograms.
	Observe func(Finished)
}

// Generator runs one load run: New checks the options, Run generates the
// load, and Stats may be read meanwhile for a progress display.
type Generator struct {
	opts  Options
	clock clockwork.Clock
	rec   *reports.Recorder
	// numbered is the target when it wants to know which call it makes.
	numbered CallTarget
	// start is the start of the measured window: calls before it are the warm-up.
	start time.Time
	// callCtx is the parent of every worker's context: a run's end never
	// cancels it, Abort does.
	callCtx context.Context
	// bases holds each worker's current call's base time (due or start), each slot written by its worker only.
	bases []time.Time
	// workerCtx holds each worker's parent of its calls' contexts, made on
	// its first call, so a call's context registers with its own worker's
	// and never with one every worker locks; each slot written by its worker only.
	workerCtx    []context.Context
	workerCancel []context.CancelFunc

	ran   atomic.Bool
	began atomic.Pointer[time.Time]
	sent  atomic.Int64
	// codes counts finished calls by code; the last slot holds codes beyond the known ones.
	codes [codes.Unauthenticated + 2]atomic.Int64
	// pending counts calls that ended APPROVAL_PENDING, for a PendingGuard.
	pending atomic.Int64
	// abandoned counts calls in flight when Abort cut them short, left out of the result.
	abandoned atomic.Int64
	aborted   atomic.Bool

	// abortMu guards the abort: its cause, and the cancel functions of the
	// sending loop and of the calls once Run has made them.
	abortMu     sync.Mutex
	abortCause  error
	cancelSend  context.CancelCauseFunc
	cancelCalls context.CancelCauseFunc
}

// New checks opts and returns a generator for them.
func New(opts Options) (*Generator, error) {
	switch {
	case opts.Target == nil:
		return nil, errors.New("load: no target")
	case opts.Pacer == nil && opts.Concurrency <= 0:
		return nil, errors.New("load: want an arrival rate (open loop) or a positive concurrency (closed loop)")
	case opts.Pacer != nil && opts.Concurrency > 0:
		return nil, errors.New("load: an arrival rate and a concurrency exclude each other: open loop sets the rate, closed loop the workers")
	case opts.Pacer != nil && opts.Interval > 0:
		return nil, errors.New("load: an interval paces closed-loop workers; an open-loop run's pacer sets when calls are due")
	case opts.Duration < 0 || opts.WarmUp < 0 || opts.Deadline < 0 || opts.MaxInFlight < 0 || opts.Interval < 0:
		return nil, errors.New("load: negative duration, warm-up, deadline, in-flight cap or interval")
	case opts.Duration == 0 && opts.Calls == 0:
		return nil, errors.New("load: want a duration or a number of calls, or the run would never end")
	}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Deadline == 0 {
		opts.Deadline = DefaultDeadline
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	g := &Generator{opts: opts, clock: opts.Clock}
	g.numbered, _ = opts.Target.(CallTarget)
	return g, nil
}

// Run generates the load and returns its result once every call has
// finished. Calls still in flight when the run ends (its duration or call
// count reached) finish within their deadline and count like any other.
// Cancelling ctx stops sending early: the result covers the calls made,
// and the error is ctx's. Abort stops it and its calls in flight, and the
// error is the abort's cause. A generator runs once.
func (g *Generator) Run(ctx context.Context) (*reports.Result, error) {
	if !g.ran.CompareAndSwap(false, true) {
		return nil, errors.New("load: a generator runs once")
	}
	began := g.clock.Now()
	start := began.Add(g.opts.WarmUp)
	run := g.opts.Run
	run.Start, run.End, run.WarmUp = start, time.Time{}, reports.Duration(g.opts.WarmUp)
	if g.opts.Pacer != nil {
		run.Mode, run.Concurrency = reports.OpenLoop, 0
	} else {
		run.Mode, run.Concurrency = reports.ClosedLoop, g.opts.Concurrency
	}
	g.rec = reports.NewRecorder(run)
	workers := g.opts.Concurrency
	if g.opts.Pacer != nil {
		workers = g.opts.MaxInFlight
	}
	g.bases = make([]time.Time, workers)
	g.workerCtx, g.workerCancel = make([]context.Context, workers), make([]context.CancelFunc, workers)
	defer func() {
		for _, cancel := range g.workerCancel {
			if cancel != nil {
				cancel()
			}
		}
	}()
	// Credentials and the target alike may time phases of a call.
	for _, part := range []any{g.opts.Credentials, g.opts.Target} {
		if po, ok := part.(PhaseObserver); ok {
			po.ObservePhases(g.recordPhase)
		}
	}
	// The run's end never cancels a call; only Abort does.
	callCtx, cancelCalls := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelCalls(nil)
	g.callCtx = callCtx
	if len(g.opts.Header) > 0 {
		g.callCtx = metadata.NewOutgoingContext(g.callCtx, g.opts.Header)
	}
	ctx, cancelSend := context.WithCancelCause(ctx)
	defer cancelSend(nil)
	g.abortMu.Lock()
	g.cancelSend, g.cancelCalls = cancelSend, cancelCalls
	if g.abortCause != nil {
		cancelSend(g.abortCause)
		cancelCalls(g.abortCause)
	}
	g.abortMu.Unlock()
	g.start = start
	g.began.Store(&began)

	var end time.Time
	if g.opts.Duration > 0 {
		end = start.Add(g.opts.Duration)
	}
	var interrupted bool
	if g.opts.Pacer != nil {
		interrupted = g.open(ctx, began, start, end)
	} else {
		interrupted = g.closed(ctx, began, start, end)
	}
	res := g.rec.Finish()
	g.abortMu.Lock()
	cause := g.abortCause
	g.abortMu.Unlock()
	switch {
	case cause != nil: // even when Abort came as the last calls drained
		return res, cause
	case interrupted:
		return res, context.Cause(ctx)
	}
	return res, nil
}

// Abort stops the run at once: no call is sent any more, the calls in
// flight are cancelled and left out of the result (Stats counts them as
// Abandoned), and Run returns cause. It is for a run that cannot go on,
// such as one whose grants wait for an approval nobody gives; Abort before
// Run makes Run stop at once. Only the first cause counts.
func (g *Generator) Abort(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	g.abortMu.Lock()
	defer g.abortMu.Unlock()
	if g.abortCause != nil {
		return
	}
	g.abortCause = cause
	g.aborted.Store(true)
	if g.cancelSend != nil {
		g.cancelSend(cause)
		g.cancelCalls(cause)
	}
}

// open sends calls when the pacer says they are due, to a pool of workers
// that grows up to MaxInFlight. It returns whether ctx ended it early.
func (g *Generator) open(ctx context.Context, began, start, end time.Time) (interrupted bool) {
	due := make(chan time.Time) // unbuffered: a call waits for a free worker, never in a queue
	var wg sync.WaitGroup
	workers := 0
	defer func() {
		close(due)
		wg.Wait() // the drain: calls in flight finish within their deadline
	}()
	var timer clockwork.Timer
	var measured uint64
	for sent := uint64(0); ; sent++ {
		now := g.clock.Now()
		wait, stop := g.opts.Pacer.Pace(now.Sub(began), sent)
		if stop {
			return false
		}
		at := now.Add(wait)
		if !end.IsZero() && !at.Before(end) {
			return false
		}
		if !at.Before(start) {
			if g.opts.Calls > 0 && measured == g.opts.Calls {
				return false
			}
			measured++
		}
		if wait > 0 && !g.sleep(ctx, &timer, wait) {
			return true
		}
		select {
		case due <- at:
			continue
		default:
		}
		if workers < g.opts.MaxInFlight {
			id := workers
			workers++
			wg.Go(func() {
				for at := range due {
					g.call(id, at, g.clock.Now())
				}
			})
		}
		select {
		case due <- at:
		case <-ctx.Done():
			return true
		}
	}
}

// closed runs Concurrency workers, each making one call after another,
// spaced by Interval when it is set. It returns whether ctx ended it early.
func (g *Generator) closed(ctx context.Context, began, start, end time.Time) (interrupted bool) {
	var measured atomic.Uint64
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for id := range g.opts.Concurrency {
		wg.Go(func() {
			var timer clockwork.Timer
			for k := 0; ; k++ {
				if ctx.Err() != nil {
					stopped.Store(true)
					return
				}
				now := g.clock.Now()
				due := now
				if g.opts.Interval > 0 {
					due = latest(now, began.Add(time.Duration(k)*g.opts.Interval))
				}
				if !end.IsZero() && !due.Before(end) {
					return
				}
				// The call is counted before the wait, so the last worker does not wait an interval for nothing.
				if g.opts.Calls > 0 && !due.Before(start) && measured.Add(1) > g.opts.Calls {
					return
				}
				if wait := due.Sub(now); wait > 0 {
					if !g.sleep(ctx, &timer, wait) {
						stopped.Store(true)
						return
					}
					now = g.clock.Now()
				}
				g.call(id, time.Time{}, now)
			}
		})
	}
	wg.Wait()
	return stopped.Load()
}

// sleep waits d on the generator's clock with *timer, made on first use,
// and reports whether the wait ended before ctx did.
func (g *Generator) sleep(ctx context.Context, timer *clockwork.Timer, d time.Duration) bool {
	if *timer == nil {
		*timer = g.clock.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-(*timer).Chan():
		return true
	case <-ctx.Done():
		(*timer).Stop()
		return false
	}
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// call makes one call and records it. Its latency runs from intended when
// set (open loop), else from start.
func (g *Generator) call(worker int, intended, start time.Time) {
	c := Call{Seq: uint64(g.sent.Add(1) - 1), Worker: worker, Intended: intended, Start: start}
	base := start
	if !intended.IsZero() {
		base = intended
	}
	g.bases[worker] = base
	parent := g.workerCtx[worker]
	if parent == nil {
		parent, g.workerCancel[worker] = context.WithCancel(g.callCtx)
		g.workerCtx[worker] = parent
	}
	ctx, cancel := context.WithTimeout(parent, g.opts.Deadline)
	var err error
	if g.opts.Credentials != nil {
		var md []string
		md, err = g.opts.Credentials.Metadata(ctx, worker)
		switch {
		case err != nil:
			err = grantError(ctx, err)
		case len(md) > 0:
			ctx = metadata.AppendToOutgoingContext(ctx, md...)
		}
	}
	if err == nil {
		if g.numbered != nil {
			err = g.numbered.CallN(ctx, c)
		} else {
			err = g.opts.Target.Call(ctx)
		}
	}
	done := g.clock.Now()
	cancel()
	if g.aborted.Load() {
		// Abort cut the call short: it says nothing about the target.
		g.abandoned.Add(1)
		return
	}

	code, why, msg := codes.OK, "", ""
	if err != nil {
		d := reason.FromError(err)
		code, why, msg = d.Code, string(d.Reason), d.Message
		if d.Reason == reason.ApprovalPending {
			g.pending.Add(1)
		}
	}
	latency := done.Sub(base)
	g.rec.Record(reports.Sample{Intended: intended, Start: start, Latency: latency, Code: codeName(code), Reason: why, Message: msg})
	if int(code) < len(g.codes)-1 {
		g.codes[code].Add(1)
	} else {
		g.codes[len(g.codes)-1].Add(1)
	}
	if g.opts.Observe != nil {
		g.opts.Observe(Finished{Call: c, Err: err, Code: code, Reason: why, Latency: latency, Measured: !base.Before(g.start)})
	}
}

// recordPhase records one timed phase of worker's current call. The
// sample carries the call's own base time, so a phase falls in the warm-up
// exactly when its call does.
func (g *Generator) recordPhase(worker int, phase string, start time.Time, took time.Duration) {
	if g.aborted.Load() {
		return // the phase of a call Abort cut short
	}
	var base time.Time
	if worker >= 0 && worker < len(g.bases) {
		base = g.bases[worker]
	}
	g.rec.Record(reports.Sample{Intended: base, Start: start, Latency: took, Phase: phase})
}

// Stats is a snapshot of a run under way, warm-up included, for a progress display.
type Stats struct {
	// Elapsed is the time since the run began; zero before it has.
	Elapsed time.Duration
	// WarmingUp reports whether the run is still in its warm-up.
	WarmingUp bool
	// Sent and Done count the calls started and finished.
	Sent, Done int64
	// Codes counts finished calls by code name; "OTHER" holds codes beyond gRPC's.
	Codes map[string]int64
	// Pending counts the finished calls that waited for an approval past their deadline (APPROVAL_PENDING).
	Pending int64
	// Abandoned counts the calls Abort cut short; they are in Sent, not in Done.
	Abandoned int64
}

// Stats returns a snapshot of the run; it is safe to call while Run runs.
func (g *Generator) Stats() Stats {
	s := Stats{Codes: map[string]int64{}}
	began := g.began.Load()
	if began == nil {
		return s
	}
	s.Elapsed = g.clock.Since(*began)
	s.WarmingUp = s.Elapsed < g.opts.WarmUp
	for c := range g.codes {
		n := g.codes[c].Load()
		if n == 0 {
			continue
		}
		name := "OTHER"
		if c < len(g.codes)-1 {
			name = codeName(codes.Code(c))
		}
		s.Codes[name] = n
		s.Done += n
	}
	s.Pending = g.pending.Load()
	s.Abandoned = g.abandoned.Load()
	// Read after the codes, so Sent is never behind Done.
	s.Sent = g.sent.Load()
	return s
}
