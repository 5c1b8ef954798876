package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/stack"
)

// Record is what one run of a scenario's load measured, before any expectation is checked.
type Record struct {
	// Outcomes holds every call, in call order.
	Outcomes []Outcome
	// HandlerRuns counts how often the Vault's handlers ran during the run.
	HandlerRuns int64
	// Elapsed is the run's wall time, from the first call to the last outcome.
	Elapsed time.Duration
	// ApprovalLatencies are the broker's approval decisions' latencies (request to decision), from its audit log.
	ApprovalLatencies []time.Duration
	// Denials counts the broker's denial decisions.
	Denials int
}

// Run drives the scenario's load against the Env with its faults on the
// timeline: Calls calls spread over Concurrency callers, caller w making
// calls w, w+Concurrency, … each Interval after the previous one's due
// time. Fault windows open and close in real time from the first call.
// The returned error is a fault that could not be applied or removed. An
// Env runs once: its faults' windows are spent afterwards.
func (e *Env) Run(ctx context.Context) (*Record, error) {
	if e.caller == nil {
		return nil, fmt.Errorf("scenario %s: the Env is not started", e.sc.Name)
	}
	if e.ran {
		return nil, fmt.Errorf("scenario %s: an Env runs its scenario once; Start another", e.sc.Name)
	}
	e.ran = true
	load := e.sc.Load
	vault := e.sys.Service.Vault
	before := vault.TotalHandlerCalls()
	outcomes := make([]Outcome, load.Calls)

	start := time.Now()
	tl := startTimeline(e, e.faults)
	var wg sync.WaitGroup
	for w := range load.Concurrency {
		wg.Go(func() {
			for k, idx := 0, w; idx < load.Calls; k, idx = k+1, idx+load.Concurrency {
				if !waitUntil(ctx, start.Add(time.Duration(k)*load.Interval)) {
					outcomes[idx] = cancelled(idx, start)
					continue
				}
				outcomes[idx] = e.caller.do(ctx, idx, start)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	faultErr := tl.stop()
	rec := &Record{Outcomes: outcomes, HandlerRuns: vault.TotalHandlerCalls() - before, Elapsed: elapsed}
	if err := e.decisions(rec); err != nil {
		faultErr = errors.Join(faultErr, err)
	}
	if faultErr != nil {
		return rec, fmt.Errorf("scenario %s: %w", e.sc.Name, faultErr)
	}
	return rec, ctx.Err()
}

// decisions reads the broker's approval decisions from its audit log into rec.
func (e *Env) decisions(rec *Record) error {
	return e.WithBroker(func(sys *stack.System) error {
		return sys.Broker.Audit(0, func(r store.AuditRecord) bool {
			switch r.Action {
			case "approved":
				rec.ApprovalLatencies = append(rec.ApprovalLatencies, r.ApprovalLatency)
			case "denied":
				rec.Denials++
			}
			return true
		})
	})
}

// waitUntil waits for due (the timeline is real time) and reports whether ctx is still live.
func waitUntil(ctx context.Context, due time.Time) bool {
	if d := time.Until(due); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return ctx.Err() == nil
}
