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
	"github.com/jitbench/jitbench/reference/token"
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

	// epoch names the numbering of sequences (see feedEpoch); every event carries it.
	epoch string

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

func newFeed(latest uint64, epoch string) *feed {
	return &feed{latest: latest, epoch: epoch, subs: make(map[*revocationSub]struct{})}
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
// sequence as of now, and which key set is published (keySet computes its
// id). It travels the same channel as events, after every event it covers.
// A subscriber with a full buffer skips it: the events ahead of it are
// newer news, and the next heartbeat repeats the key set. keySet runs under
// the feed's lock, so announcements reach subscribers in the order the key
// set changed.
func (f *feed) heartbeat(now time.Time, keySet func(time.Time) string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) == 0 {
		return
	}
	hb := &jitv1.RevocationEvent{Sequence: f.latest, Heartbeat: true, SentAt: timestamppb.New(now),
		Epoch: f.epoch, KeySetId: keySet(now)}
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
		case <-t.Chan():
			// The clock's time, not the tick's: a fake clock moved far
			// ahead delivers an old tick, and the key set is as of now.
			b.feed.heartbeat(b.clock.Now(), b.keySetID)
		case <-b.done:
			return
		}
	}
}

// WatchRevocations sends the revocations with a sequence larger than
// in.after_sequence that still matter (their grant has not expired, or did
// so less than the verifier's leeway ago), then live ones, plus a heartbeat
// every HeartbeatInterval carrying the latest sequence and the published key
// set, so a verifier knows how fresh its view is. Every event carries the
// feed's epoch; after_sequence counts only in the epoch the request names,
// and in any other the feed is replayed from the start. It returns when ctx
// ends, send fails, the subscriber falls behind (RESOURCE_EXHAUSTED) or the
// broker closes.
func (b *Broker) WatchRevocations(ctx context.Context, in *jitv1.WatchRevocationsRequest, send func(*jitv1.RevocationEvent) error) error {
	keep, err := replayLeeway(in)
	if err != nil {
		return err
	}
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
	after := in.GetAfterSequence()
	if in.GetEpoch() != b.feed.epoch || after > latest {
		// A position in another numbering (a broker restarted on an empty
		// store numbers from 1 again) says nothing about this one: resuming
		// after it would skip this feed's first revocations.
		after = 0
	}
	if err := b.replay(ctx, after, latest, keep, send); err != nil {
		return err
	}
	// A heartbeat right after the replay tells a new subscriber its view is
	// current now, rather than one HeartbeatInterval later: a verifier that
	// starts in strict mode would otherwise refuse every grant until then.
	now := b.clock.Now()
	if err := send(&jitv1.RevocationEvent{Sequence: latest, Heartbeat: true, SentAt: timestamppb.New(now),
		Epoch: b.feed.epoch, KeySetId: b.keySetID(now)}); err != nil {
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
			out.Epoch = b.feed.epoch
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

// replayLeeway is how long after its grant's expiry a revocation is still
// replayed: twice the verifier's leeway as its request states it (never
// less than token.DefaultLeeway, for verifiers that do not say). The
// verifier accepts a grant until exp plus its leeway on its own clock,
// which may lag the broker's by as much again: that is what a leeway is for.
func replayLeeway(in *jitv1.WatchRevocationsRequest) (time.Duration, error) {
	d := in.GetLeeway()
	if d == nil {
		return 2 * token.DefaultLeeway, nil
	}
	if err := d.CheckValid(); err != nil || d.AsDuration() < 0 {
		return 0, fail(ErrInvalidArgument, "leeway must be a non-negative duration")
	}
	return 2 * max(d.AsDuration(), token.DefaultLeeway), nil
}

// replay sends the stored events in (after, upto] whose grant a verifier
// may still accept (until exp plus keep on the broker's clock), a batch at
// a time so a long feed is never held in memory whole.
func (b *Broker) replay(ctx context.Context, after, upto uint64, keep time.Duration, send func(*jitv1.RevocationEvent) error) error {
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
			// A verifier forgets a revocation once its grant is past exp
			// plus its leeway: the grant is refused as expired from then on.
			// Until then, that instant included, it would accept the grant,
			// so it must hear of it.
			if ev.GetGrantExpiresAt() != nil && now.After(ev.GetGrantExpiresAt().AsTime().Add(keep)) {
				continue
			}
			ev.SentAt = timestamppb.New(now)
			ev.Epoch = b.feed.epoch
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
