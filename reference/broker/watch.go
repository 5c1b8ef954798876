package broker

import (
	"context"
	"slices"

	"google.golang.org/grpc/status"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// watchBuffer is each watcher's channel capacity. A request has few
// revisions (a creation, one per review, a decision, an end), so a watcher
// whose buffer fills is not slow but stuck, and is ended rather than allowed
// to hold up the broker or grow without bound.
const watchBuffer = 16

// watcher is one Watch call waiting for revisions of one request.
type watcher struct {
	ch chan *jitv1.AccessRequest
	// end says why the broker closed ch: nil after a terminal revision,
	// ErrWatcherTooSlow, or ErrClosed. Written before close(ch), read after.
	end error
}

// Watch sends caller the request's current state, then every later revision
// exactly once and in order, and returns nil after sending a terminal one
// (APPROVED is not terminal: its grant still ends or is revoked; clients
// that only want the grant stop reading there). Only the requester and the
// rule's approvers may watch; to others the request does not exist. send
// must not keep or modify what it is given beyond the call.
func (b *Broker) Watch(ctx context.Context, caller Caller, id string, send func(*jitv1.AccessRequest) error) error {
	if err := checkCaller(caller); err != nil {
		return err
	}
	e, w, cur, err := b.subscribe(caller, id)
	if err != nil {
		return err
	}
	if err := send(view(cur, caller)); err != nil {
		e.unsubscribe(w)
		return err
	}
	if w == nil {
		return nil // already terminal
	}
	for {
		select {
		case r, ok := <-w.ch:
			if !ok {
				return w.end
			}
			if err := send(view(r, caller)); err != nil {
				e.unsubscribe(w)
				return err
			}
			if isTerminal(r.GetState()) {
				return nil
			}
		case <-ctx.Done():
			e.unsubscribe(w)
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// subscribe registers a watcher on id and returns the revision it starts
// from. Both happen under the entry's lock, which commits also hold while
// publishing, so no revision is missed or sent twice. A request already
// terminal gets no watcher.
func (b *Broker) subscribe(caller Caller, id string) (*entry, *watcher, *jitv1.AccessRequest, error) {
	done, err := b.begin()
	if err != nil {
		return nil, nil, nil, err
	}
	defer done()
	e := b.entry(id)
	if e == nil {
		return nil, nil, nil, notFound(id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.req
	if !b.canSee(cur, caller) {
		return nil, nil, nil, notFound(id)
	}
	if isTerminal(cur.GetState()) {
		return e, nil, cur, nil
	}
	w := &watcher{ch: make(chan *jitv1.AccessRequest, watchBuffer)}
	e.watchers = append(e.watchers, w)
	return e, w, cur, nil
}

// unsubscribe removes w, if the broker has not already let it go.
func (e *entry) unsubscribe(w *watcher) {
	if w == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.watchers = slices.DeleteFunc(e.watchers, func(x *watcher) bool { return x == w })
}

// publish hands a committed revision to every watcher without blocking: a
// full buffer ends that watcher with RESOURCE_EXHAUSTED. After a terminal
// revision every watcher is let go. The caller holds e.mu.
func (e *entry) publish(r *jitv1.AccessRequest) {
	if len(e.watchers) == 0 {
		return
	}
	keep := e.watchers[:0]
	for _, w := range e.watchers {
		select {
		case w.ch <- r:
			keep = append(keep, w)
		default:
			w.end = fail(ErrWatcherTooSlow, "the watcher stopped reading: %d revisions were waiting", watchBuffer)
			close(w.ch)
		}
	}
	clear(e.watchers[len(keep):])
	e.watchers = keep
	if isTerminal(r.GetState()) {
		e.endWatchers(nil)
	}
}

// endWatchers closes every watcher's channel with why. The caller holds e.mu.
func (e *entry) endWatchers(why error) {
	for _, w := range e.watchers {
		w.end = why
		close(w.ch)
	}
	e.watchers = nil
}
