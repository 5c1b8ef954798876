package broker

import (
	"context"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// revocationBuffer is each revocation subscriber's channel capacity. Unlike a
// request's revisions, revocations can come in bursts (an approver revoking
// a team's grants), so it is larger; a subscriber that still falls behind is
// ended and resumes with after_sequence, losing nothing.
const revocationBuffer = 256

// replayBatch bounds how many stored events a replay holds in memory at once.
const replayBatch = 256

// feed fans the revocation feed out to subscribers in sequence order.
type feed struct {
	// commitMu is held across the commit and publication of a revocation.
	// Revocations are rare, and serializing them is what makes the store's
	// sequence order the order subscribers see, with no gap or reordering
	// (two revocations committed in parallel could otherwise be published
	// 6 before 5). Other transitions never take it.
	commitMu sync.Mutex

	mu     sync.Mutex
	latest uint64 // the largest sequence published
	subs   map[*revocationSub]struct{}
	closed error
}

// revocationSub is one WatchRevocations call.
type revocationSub struct {
	ch chan *jitv1.RevocationEvent
	// end says why the broker closed ch; written before close(ch).
	end error
}

func newFeed(latest uint64) *feed {
	return &feed{latest: latest, subs: make(map[*revocationSub]struct{})}
}

// latestSequence returns the largest sequence in the stored feed.
func latestSequence(s store.Store) (uint64, error) {
	var latest uint64
	err := s.Revocations(0, func(ev *jitv1.RevocationEvent) bool {
		latest = ev.GetSequence()
		return true
	})
	return latest, err
}

// commit commits a batch carrying revocations and publishes them in order.
func (f *feed) commit(ctx context.Context, s store.Store, b store.Batch) error {
	f.commitMu.Lock()
	defer f.commitMu.Unlock()
	if err := s.Commit(ctx, b); err != nil {
		return err
	}
	// The store assigned each event its sequence on commit.
	f.publish(b.Revocations...)
	return nil
}

// publish sends events to every subscriber without blocking; a full buffer
// ends that subscriber with RESOURCE_EXHAUSTED.
func (f *feed) publish(events ...*jitv1.RevocationEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range events {
		f.latest = max(f.latest, ev.GetSequence())
		for sub := range f.subs {
			select {
			case sub.ch <- ev:
			default:
				sub.end = fail(ErrWatcherTooSlow, "the revocation subscriber stopped reading: %d events were waiting; resume with after_sequence", revocationBuffer)
				close(sub.ch)
				delete(f.subs, sub)
			}
		}
	}
}

// heartbeat tells every subscriber the feed is current up to the latest
// sequence as of now. It travels the same channel as events, after every
// event it covers. A subscriber with a full buffer skips it: the events
// ahead of it are newer news.
func (f *feed) heartbeat(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) == 0 {
		return
	}
	hb := &jitv1.RevocationEvent{Sequence: f.latest, Heartbeat: true, SentAt: timestamppb.New(now)}
	for sub := range f.subs {
		select {
		case sub.ch <- hb:
		default:
		}
	}
}

// subscribe registers a subscriber and returns the latest sequence published
// before it: events up to it are replayed from the store, later ones arrive
// on the channel.
func (f *feed) subscribe() (*revocationSub, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed != nil {
		return nil, 0, f.closed
	}
	sub := &revocationSub{ch: make(chan *jitv1.RevocationEvent, revocationBuffer)}
	f.subs[sub] = struct{}{}
	return sub, f.latest, nil
}

func (f *feed) unsubscribe(sub *revocationSub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, sub)
}

// close ends every subscriber with why and refuses new ones.
func (f *feed) close(why error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = why
	for sub := range f.subs {
		sub.end = why
		close(sub.ch)
		delete(f.subs, sub)
	}
}

// heartbeats sends a heartbeat on every tick of t until Close.
func (b *Broker) heartbeats(t clockwork.Ticker) {
	defer close(b.stopped)
	defer t.Stop()
	for {
		select {
		case now := <-t.Chan():
			b.feed.heartbeat(now)
		case <-b.done:
			return
		}
	}
}

// WatchRevocations sends the revocations with a sequence larger than after
// that still matter (their grant has not expired yet), then live ones, plus
// a heartbeat every HeartbeatInterval carrying the latest sequence, so a
// verifier knows how fresh its view is. It returns when ctx ends, send fails,
// the subscriber falls behind (RESOURCE_EXHAUSTED) or the broker closes.
func (b *Broker) WatchRevocations(ctx context.Context, after uint64, send func(*jitv1.RevocationEvent) error) error {
	done, err := b.begin()
	if err != nil {
		return err
	}
	sub, latest, err := b.feed.subscribe()
	done()
	if err != nil {
		return err
	}
	defer b.feed.unsubscribe(sub)
	if err := b.replay(ctx, after, latest, send); err != nil {
		return err
	}
	// A heartbeat right after the replay tells a new subscriber its view is
	// current now, rather than one HeartbeatInterval later: a verifier that
	// starts in strict mode would otherwise refuse every grant until then.
	if err := send(&jitv1.RevocationEvent{Sequence: max(after, latest), Heartbeat: true, SentAt: timestamppb.New(b.clock.Now())}); err != nil {
		return err
	}
	for {
		select {
		case ev, ok := <-sub.ch:
			if !ok {
				return sub.end
			}
			if ev.GetSequence() <= after && !ev.GetHeartbeat() {
				continue
			}
			out := proto.Clone(ev).(*jitv1.RevocationEvent)
			if !out.GetHeartbeat() {
				out.SentAt = timestamppb.New(b.clock.Now())
			}
			if err := send(out); err != nil {
				return err
			}
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// replay sends the stored events in (after, upto] whose grant is still live,
// a batch at a time so a long feed is never held in memory whole.
func (b *Broker) replay(ctx context.Context, after, upto uint64, send func(*jitv1.RevocationEvent) error) error {
	for after < upto {
		batch := make([]*jitv1.RevocationEvent, 0, replayBatch)
		err := b.store.Revocations(after, func(ev *jitv1.RevocationEvent) bool {
			if ev.GetSequence() > upto {
				return false
			}
			batch = append(batch, ev)
			return len(batch) < replayBatch
		})
		if err != nil {
			return fail(ErrStore, "read the revocation feed: %v", err)
		}
		if len(batch) == 0 {
			return nil
		}
		now := b.clock.Now()
		for _, ev := range batch {
			after = ev.GetSequence()
			// A verifier forgets a revocation once its grant expired: the
			// grant is refused as expired anyway.
			if ev.GetGrantExpiresAt() != nil && !ev.GetGrantExpiresAt().AsTime().After(now) {
				continue
			}
			ev.SentAt = timestamppb.New(now)
			if err := send(ev); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
	}
	return nil
}
