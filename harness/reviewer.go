package harness

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jitbench/jitbench/fakes"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
)

// reviewPoll is how often the reviewer looks for new pending requests. The
// broker has no "watch every request" call, and a reviewer reacting within
// a few milliseconds is well inside any approval delay a scenario scripts.
// A broker in a container is asked over the network: less often.
const (
	reviewPoll          = 2 * time.Millisecond
	reviewPollContainer = 10 * time.Millisecond
	// reviewTimeout bounds one review, so a frozen broker cannot hold a reviewer's timer forever.
	reviewTimeout = 10 * time.Second
)

// reviewer is the scripted human behind "reviewer" approval: it polls the
// broker for pending requests as a member of the approver group, asks the
// current Approver for a decision on each new one, and applies it after the
// decision's delay. With no approver set, requests stay pending.
//
// Approvers stack, one per approval fault: the last one pushed and not yet
// removed decides, and removing one (whatever its place) leaves the others,
// so overlapping approval faults undo cleanly in any order.
type reviewer struct {
	env    *Env
	caller broker.Caller

	mu        sync.Mutex
	approvers []*fakes.Approver
	gen       int            // bumped by every change of the top, so a new approver reconsiders requests the old one left
	decided   map[string]int // request id → generation that decided it
	timers    map[*time.Timer]struct{}
	stopped   bool

	cancel context.CancelFunc
	done   chan struct{}
}

func newReviewer(e *Env) *reviewer {
	who := "carol"
	if e.sc.Client.Subject == who {
		who = "dave" // nobody may review their own request
	}
	return &reviewer{
		env:     e,
		caller:  broker.Caller{Subject: who, Groups: []string{"security"}},
		decided: make(map[string]int),
		timers:  make(map[*time.Timer]struct{}),
		done:    make(chan struct{}),
	}
}

// push puts a on top of the approvers; remove takes it off, wherever it
// is by then, and calling it again does nothing.
func (r *reviewer) push(a fakes.Approver) (remove func()) {
	p := &a
	r.mu.Lock()
	r.approvers = append(r.approvers, p)
	r.gen++
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			i := slices.Index(r.approvers, p)
			if i < 0 {
				return
			}
			if i == len(r.approvers)-1 {
				r.gen++ // the one below decides from now on, pending requests included
			}
			r.approvers = slices.Delete(r.approvers, i, i+1)
		})
	}
}

// current returns the approver that decides now (nil: none) and its generation.
func (r *reviewer) current() (fakes.Approver, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.approvers) == 0 {
		return nil, r.gen
	}
	return *r.approvers[len(r.approvers)-1], r.gen
}

func (r *reviewer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	every := r.env.reach.reviewPoll()
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.poll(ctx)
			}
		}
	}()
}

// poll decides every pending request the current approver has not seen.
func (r *reviewer) poll(ctx context.Context) {
	a, gen := r.current()
	if a == nil {
		return
	}
	// A failed listing (a broker restarting) is tried again at the next tick.
	pending, _ := requestsIn(ctx, r.env.sys, jitv1.State_STATE_PENDING)
	for _, req := range pending {
		r.mu.Lock()
		seen, ok := r.decided[req.GetId()]
		if r.stopped || (ok && seen == gen) {
			r.mu.Unlock()
			continue
		}
		r.decided[req.GetId()] = gen
		r.mu.Unlock()
		d := a.Decide(req)
		if d.Never {
			continue
		}
		r.after(d.After, func() { r.review(req.GetId(), d) })
	}
}

// after runs fn after d unless the reviewer stops first.
func (r *reviewer) after(d time.Duration, fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		r.mu.Lock()
		_, live := r.timers[t]
		delete(r.timers, t)
		r.mu.Unlock()
		if live {
			fn()
		}
	})
	r.timers[t] = struct{}{}
}

// review records d on request id. A request decided meanwhile (expired,
// withdrawn, approved by policy) refuses the review, which is fine.
func (r *reviewer) review(id string, d fakes.Decision) {
	decision := jitv1.Decision_DECISION_DENY
	if d.Approve {
		decision = jitv1.Decision_DECISION_APPROVE
	}
	comment := d.Comment
	if comment == "" {
		comment = "scripted reviewer"
	}
	ctx, cancel := context.WithTimeout(context.Background(), reviewTimeout)
	defer cancel()
	_ = r.env.sys.review(ctx, &jitv1.ReviewRequest{Id: id, Decision: decision, Comment: comment})
}

// stop ends polling and cancels reviews not yet made.
func (r *reviewer) stop() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.stopped = true
	for t := range r.timers {
		t.Stop()
	}
	clear(r.timers)
	r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}
