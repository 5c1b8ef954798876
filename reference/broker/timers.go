package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// Timers are derived from a request's committed state alone (pending_until,
// the auto-approval due time, grant_expires_at), so a restarted broker
// re-arms exactly what the stopped one had; a deadline that passed while it
// was down fires at once.

// retryDelay spaces retries of a timer transition whose commit failed, so a
// failing store is not hammered and the transition is not lost.
const retryDelay = time.Second

// autoApprovalPrefix starts the state_reason of a request waiting for a
// delayed auto-approval. The due time lives there because the protocol has
// no field for it, and the requester's groups that qualified it are not
// stored: on restart it is the only record that the approval is owed.
const autoApprovalPrefix = "auto-approval due "

// autoApprovalReason is the state_reason of a request auto-approved at due.
func autoApprovalReason(due time.Time, rule string) string {
	return autoApprovalPrefix + due.UTC().Format(time.RFC3339Nano) + " by policy " + rule
}

// autoApprovalDue returns when req's delayed auto-approval is due, if it has one.
func autoApprovalDue(req *jitv1.AccessRequest) (time.Time, bool) {
	rest, ok := strings.CutPrefix(req.GetStateReason(), autoApprovalPrefix)
	if !ok {
		return time.Time{}, false
	}
	stamp, _, _ := strings.Cut(rest, " ")
	due, err := time.Parse(time.RFC3339Nano, stamp)
	return due, err == nil
}

// arm replaces e's timers with those its committed state needs. The caller holds e.mu.
func (b *Broker) arm(e *entry) {
	b.disarm(e)
	req := e.req
	switch req.GetState() {
	case jitv1.State_STATE_PENDING:
		if req.GetPendingUntil() != nil {
			b.at(e, req.GetPendingUntil().AsTime(), b.expire)
		}
		if due, ok := autoApprovalDue(req); ok {
			b.at(e, due, b.autoApprove)
		}
	case jitv1.State_STATE_APPROVED:
		b.at(e, req.GetGrantExpiresAt().AsTime(), b.end)
	}
}

// disarm stops e's timers; one that already fired finds its generation
// stale and does nothing. The caller holds e.mu.
func (b *Broker) disarm(e *entry) {
	for _, t := range e.timers {
		t.Stop()
	}
	e.timers = e.timers[:0]
	e.gen++
}

// at runs fn on e at t on the broker clock, as a transition by the timer.
func (b *Broker) at(e *entry, t time.Time, fn step) {
	gen := e.gen
	e.timers = append(e.timers, b.clock.AfterFunc(t.Sub(b.clock.Now()), func() { b.fire(e, gen, fn) }))
}

// fire applies a timer's transition unless the broker closed or the timers
// were re-armed since it was set; a failed commit is retried later.
func (b *Broker) fire(e *entry, gen uint64, fn step) {
	done, err := b.begin()
	if err != nil {
		return
	}
	defer done()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen != gen {
		return
	}
	_, err = b.applyLocked(context.Background(), e, fn)
	if errors.Is(err, ErrStore) || errors.Is(err, ErrSigning) {
		// The state did not change, so no other timer replaced this one;
		// without a retry the transition would wait for the next restart.
		b.disarm(e)
		b.at(e, b.clock.Now().Add(retryDelay), fn)
	}
}

// expire ends a request nobody decided before its pending timeout.
func (b *Broker) expire(cur *jitv1.AccessRequest, now time.Time) (*change, error) {
	if err := canExpire(cur); err != nil {
		return nil, err
	}
	next := successor(cur, now)
	next.State = jitv1.State_STATE_EXPIRED
	next.Actor = ActorTimer
	next.StateReason = fmt.Sprintf("no decision before %s (%d of %d approvals)",
		cur.GetPendingUntil().AsTime().UTC().Format(time.RFC3339), approvals(cur), cur.GetApprovalsNeeded())
	return &change{next: next, audit: []store.AuditRecord{
		audit(now, next, cur.GetState(), ActorTimer, actionExpired, next.GetStateReason()),
	}}, nil
}

// autoApprove approves a request whose delayed auto-approval fell due.
func (b *Broker) autoApprove(cur *jitv1.AccessRequest, now time.Time) (*change, error) {
	if err := canReview(cur); err != nil {
		return nil, err
	}
	next := successor(cur, now)
	records, err := b.approve(next, ActorPolicy, "auto-approved by policy "+cur.GetPolicy(), now)
	if err != nil {
		return nil, err
	}
	return &change{next: next, audit: records}, nil
}

// end closes an approved request whose grant's window is over.
func (b *Broker) end(cur *jitv1.AccessRequest, now time.Time) (*change, error) {
	if err := canEnd(cur); err != nil {
		return nil, err
	}
	next := successor(cur, now)
	next.State = jitv1.State_STATE_ENDED
	next.Actor = ActorTimer
	next.StateReason = "the grant's window ended"
	return &change{next: next, audit: []store.AuditRecord{
		audit(now, next, cur.GetState(), ActorTimer, actionEnded, next.GetStateReason()),
	}}, nil
}
