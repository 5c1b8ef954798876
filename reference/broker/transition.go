package broker

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// change is one transition, computed under the request's lock and committed
// as one store batch: the new revision, its audit records and, for a
// revocation, the feed event.
type change struct {
	next       *jitv1.AccessRequest
	audit      []store.AuditRecord
	revocation *jitv1.RevocationEvent
}

// step computes a change from the current revision at now; it must not
// modify cur (it is shared with readers) and returns an error to refuse.
type step func(cur *jitv1.AccessRequest, now time.Time) (*change, error)

// successor returns a copy of cur as its next revision at now.
func successor(cur *jitv1.AccessRequest, now time.Time) *jitv1.AccessRequest {
	next := proto.Clone(cur).(*jitv1.AccessRequest)
	next.Revision = cur.GetRevision() + 1
	next.UpdatedAt = timestamppb.New(now)
	return next
}

// transition applies fn to the request id and returns the committed revision
// (shared: pass it through view before handing it out).
func (b *Broker) transition(ctx context.Context, id string, fn step) (*jitv1.AccessRequest, error) {
	done, err := b.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	e := b.entry(id)
	if e == nil {
		return nil, notFound(id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return b.applyLocked(ctx, e, fn)
}

// applyLocked runs fn on e and commits its change; the caller holds e.mu,
// which is what serializes transitions on one request.
func (b *Broker) applyLocked(ctx context.Context, e *entry, fn step) (*jitv1.AccessRequest, error) {
	now := b.clock.Now()
	c, err := fn(e.req, now)
	if err != nil {
		return nil, err
	}
	if err := b.commit(ctx, e, c); err != nil {
		return nil, err
	}
	return c.next, nil
}

// commit makes c durable and only then visible: it updates the entry,
// metrics and timers and notifies watchers. The caller holds e.mu.
func (b *Broker) commit(ctx context.Context, e *entry, c *change) error {
	batch := store.Batch{Requests: []*jitv1.AccessRequest{c.next}, Audit: c.audit}
	// A caller that gives up mid-commit must not leave us unsure whether
	// the transition happened: the commit runs to its end either way.
	ctx = context.WithoutCancel(ctx)
	var err error
	if c.revocation != nil {
		batch.Revocations = []*jitv1.RevocationEvent{c.revocation}
		err = b.feed.commit(ctx, b.store, batch)
	} else {
		err = b.store.Commit(ctx, batch)
	}
	if err != nil {
		return fail(ErrStore, "request %s was not changed: %v", c.next.GetId(), err)
	}
	prev := e.req
	e.req = c.next
	b.metrics.committed(prev, c)
	b.arm(e)
	e.publish(c.next)
	return nil
}

// notFound is the one answer for an unknown id and for a request the caller
// may not see, so existence does not leak.
func notFound(id string) error {
	return fail(ErrNotFound, "no access request %q", id)
}
