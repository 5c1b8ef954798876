package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// ChurnOptions configure Churn. Zero fields take the defaults given.
type ChurnOptions struct {
	// Workers is the number of concurrent requesters; zero means 4.
	Workers int
	// RevokeEvery revokes every n-th approved request of a worker; zero means 3.
	RevokeEvery int
	// Scope is what is requested; nil means Read on secrets/* of the development Vault.
	Scope *jitv1.Scope
	// CallTimeout bounds each call, waiting for the approval included; zero means 2s.
	CallTimeout time.Duration
	// RetryPause is how long a worker waits after a failed call; zero means 50ms.
	RetryPause time.Duration
}

func (o ChurnOptions) withDefaults() ChurnOptions {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.RevokeEvery <= 0 {
		o.RevokeEvery = 3
	}
	if o.Scope == nil {
		o.Scope = &jitv1.Scope{Service: token.DevAudience, Methods: []string{"/demo.v1.Vault/Read"}, Resource: "secrets/*"}
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 2 * time.Second
	}
	if o.RetryPause <= 0 {
		o.RetryPause = 50 * time.Millisecond
	}
	return o
}

// Churn is load on a broker from its users' side: each worker requests
// access, follows the request on Watch until it is approved (the broker
// must auto-approve), and revokes every RevokeEvery-th grant, over and
// over, through faults. It records what the broker acknowledged (Ledger)
// and how every call ended, so the window a fault opened can be measured
// (Outage).
type Churn struct {
	client jitv1.BrokerClient
	opts   ChurnOptions
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	ledger   Ledger
	calls    []callRecord
	acks     int64
	problems []error
	changed  chan struct{} // closed and replaced on every record: wakes waiters
}

// callRecord is one call: when it was sent and ended, and its code.
type callRecord struct {
	start, end time.Time
	code       codes.Code
}

// ErrBrokerContract is returned when the broker answered something it must never answer.
var ErrBrokerContract = errors.New("broker broke its contract")

// StartChurn starts the workers on client (a requester's client: its calls
// carry an identity). Stop ends them.
func StartChurn(client jitv1.BrokerClient, opts ChurnOptions) *Churn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Churn{client: client, opts: opts.withDefaults(), cancel: cancel, ledger: newLedger(), changed: make(chan struct{})}
	for w := range c.opts.Workers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.work(ctx, w)
		}()
	}
	return c
}

// work is one worker's loop until ctx ends.
func (c *Churn) work(ctx context.Context, w int) {
	for n := 0; ctx.Err() == nil; n++ {
		if err := c.once(ctx, w, n); err != nil && ctx.Err() == nil {
			pause := time.NewTimer(c.opts.RetryPause)
			select {
			case <-ctx.Done():
			case <-pause.C:
			}
			pause.Stop()
		}
	}
}

// once requests, waits for the approval and maybe revokes.
func (c *Churn) once(ctx context.Context, w, n int) error {
	var id string
	err := c.call(ctx, func(ctx context.Context) error {
		r, err := c.client.RequestAccess(ctx, &jitv1.RequestAccessRequest{
			Scope: c.opts.Scope, Justification: fmt.Sprintf("churn worker %d request %d", w, n)})
		if err == nil {
			id = r.GetId()
			c.note(func(l *Ledger) { l.Requested[id] = true })
		}
		return err
	})
	if err != nil {
		return err
	}
	var gid string
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		gid, err = c.watchApproved(ctx, id)
		return err
	}); err != nil {
		return err
	}
	c.ack(func(l *Ledger) { l.Approved[id] = gid })
	if n%c.opts.RevokeEvery != 0 {
		return nil
	}
	c.note(func(l *Ledger) { l.RevokeTried[id] = true })
	return c.call(ctx, func(ctx context.Context) error {
		r, err := c.client.Revoke(ctx, &jitv1.RevokeRequest{Id: id, Comment: "churn"})
		if err != nil {
			return err
		}
		if r.GetState() != jitv1.State_STATE_REVOKED || r.GetGrantId() != gid {
			c.problem(fmt.Errorf("%w: revoke %s answered %s for grant %s, want REVOKED for %s", ErrBrokerContract, id, r.GetState(), r.GetGrantId(), gid))
			return nil
		}
		c.ack(func(l *Ledger) { l.Revoked[id] = gid })
		return nil
	})
}

// call runs fn with the call timeout and records how it ended, unless the churn was stopped meanwhile.
func (c *Churn) call(ctx context.Context, fn func(context.Context) error) error {
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	err := fn(cctx)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err() // stopped: not the broker's doing
	}
	rec := callRecord{start: start, end: time.Now(), code: reason.FromError(err).Code}
	if err != nil && rec.code == codes.OK {
		rec.code = codes.Unknown // a failure without a status (a stream that ended early)
	}
	c.note(func(*Ledger) { c.calls = append(c.calls, rec) })
	return err
}

// watchApproved follows request id until it is approved and returns its grant id.
func (c *Churn) watchApproved(ctx context.Context, id string) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // APPROVED is not terminal: the stream would go on
	stream, err := c.client.Watch(ctx, &jitv1.WatchRequest{Id: id})
	if err != nil {
		return "", err
	}
	for {
		r, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return "", status.Error(codes.Unknown, "the Watch stream ended before a decision")
		case err != nil:
			return "", err
		}
		switch r.GetState() {
		case jitv1.State_STATE_PENDING:
		case jitv1.State_STATE_APPROVED:
			if r.GetGrantId() == "" {
				c.problem(fmt.Errorf("%w: request %s APPROVED without a grant id", ErrBrokerContract, id))
				return "", status.Error(codes.Internal, "approved without a grant id")
			}
			return r.GetGrantId(), nil
		default:
			return "", status.Errorf(codes.FailedPrecondition, "request %s went %s, not APPROVED (does the broker auto-approve?)", id, r.GetState())
		}
	}
}

// note changes the churn's records under its lock and wakes waiters.
func (c *Churn) note(fn func(*Ledger)) {
	c.mu.Lock()
	fn(&c.ledger)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// ack notes an acknowledgement: an approval seen or a revocation answered.
func (c *Churn) ack(fn func(*Ledger)) {
	c.note(func(l *Ledger) {
		fn(l)
		c.acks++
	})
}

func (c *Churn) problem(err error) { c.note(func(*Ledger) { c.problems = append(c.problems, err) }) }

// waitFor blocks until cond (called under the lock) holds or ctx ends.
func (c *Churn) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		c.mu.Lock()
		ok, changed := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("churn: waiting for %s: %w", what, ctx.Err())
		case <-changed:
		}
	}
}

// WaitAcks returns once the broker acknowledged n approvals and revocations in all, or ctx ends.
func (c *Churn) WaitAcks(ctx context.Context, n int64) error {
	return c.waitFor(ctx, fmt.Sprintf("%d acknowledgements", n), func() bool { return c.acks >= n })
}

// WaitRecovered returns once a call sent after since has succeeded, or ctx ends.
func (c *Churn) WaitRecovered(ctx context.Context, since time.Time) error {
	return c.waitFor(ctx, "a successful call after "+since.Format(time.RFC3339Nano), func() bool {
		_, ok := c.recoveredAt(since)
		return ok
	})
}

// recoveredAt is when the first call sent after since succeeded. Callers hold c.mu.
func (c *Churn) recoveredAt(since time.Time) (time.Time, bool) {
	var first time.Time
	for _, r := range c.calls {
		if r.code == codes.OK && r.start.After(since) && (first.IsZero() || r.end.Before(first)) {
			first = r.end
		}
	}
	return first, !first.IsZero()
}

// Acks is how many approvals and revocations the broker acknowledged so far.
func (c *Churn) Acks() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acks
}

// Ledger returns a copy of what the broker acknowledged so far.
func (c *Churn) Ledger() Ledger {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ledger.clone()
}

// Stop ends the workers and returns what the broker acknowledged, and
// ErrBrokerContract if it ever answered what it must not.
func (c *Churn) Stop() (Ledger, error) {
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ledger.clone(), errors.Join(c.problems...)
}

// Outage is the window a fault opened, as the churn's calls saw it: from
// Start (the fault) to End, when the first call sent after Start succeeded.
type Outage struct {
	Start, End time.Time
	// Duration is End minus Start; zero while not recovered.
	Duration time.Duration
	// Recovered says whether a call succeeded after Start.
	Recovered bool
	// Codes counts the failed calls that ended in the window, by gRPC code name.
	Codes map[string]int64
}

// Outage measures the window opened at start: when the fault took effect
// (after KillBroker returned, say: calls sent while the kill was on its way
// may still be answered, and would end the window early).
func (c *Churn) Outage(start time.Time) Outage {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := Outage{Start: start, Codes: map[string]int64{}}
	o.End, o.Recovered = c.recoveredAt(start)
	for _, r := range c.calls {
		if r.code != codes.OK && !r.end.Before(start) && (!o.Recovered || !r.end.After(o.End)) {
			o.Codes[reason.CodeName(r.code)]++
		}
	}
	if o.Recovered {
		o.Duration = o.End.Sub(o.Start)
	}
	return o
}

// String reads "outage 1.234s (recovered): UNAVAILABLE×12, DEADLINE_EXCEEDED×1".
func (o Outage) String() string {
	state := "recovered"
	d := o.Duration
	if !o.Recovered {
		state = "not recovered"
		d = time.Since(o.Start)
	}
	names := make([]string, 0, len(o.Codes))
	for name, n := range o.Codes {
		names = append(names, fmt.Sprintf("%s×%d", name, n))
	}
	sort.Strings(names)
	if len(names) == 0 {
		names = []string{"no failed call"}
	}
	return fmt.Sprintf("outage %s (%s): %s", d.Round(time.Millisecond), state, strings.Join(names, ", "))
}

// clone copies the ledger's maps.
func (l Ledger) clone() Ledger {
	return Ledger{Requested: maps.Clone(l.Requested), Approved: maps.Clone(l.Approved),
		RevokeTried: maps.Clone(l.RevokeTried), Revoked: maps.Clone(l.Revoked)}
}
