package conformance

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// The key source cases take the target's source of grant keys away, through
// Config.KeySource, while a grant needs a key the target has not fetched
// (cold) or one it has (warm).

// Timings of the key source cases.
const (
	// keyDeadline is DL-003's call deadline.
	keyDeadline = 250 * time.Millisecond
	// keyDelay is how slow DL-003's key source answers: well past the deadline.
	keyDelay = 3 * keyDeadline
	// warmWait bounds OUT-003's wait for a valid call to pass before the outage; warmPoll spaces the tries.
	warmWait = 5 * time.Second
	warmPoll = 20 * time.Millisecond
)

// slowKeySource is DL-003: the grant names a key the target must fetch, and
// the key source answers only after the call's deadline.
func (r *runner) slowKeySource(ctx context.Context, _ *Case) []variant {
	return []variant{r.freshKeyCall(ctx, "slow", keyDelay, keyDeadline, keyDeadline+deadlineSlack)}
}

// keySourceDownCold is OUT-002: the grant names a key the target must fetch, and the key source is down.
func (r *runner) keySourceDownCold(ctx context.Context, _ *Case) []variant {
	return []variant{r.freshKeyCall(ctx, "cold", 0, 0, 0)}
}

// freshKeyCall signs a grant with a key the target has not fetched yet and
// sends it while the key source is out (delay 0) or slow.
func (r *runner) freshKeyCall(ctx context.Context, name string, delay, timeout, bound time.Duration) variant {
	key, err := r.cfg.KeySource.Fresh(ctx)
	if err != nil {
		return failed(name, fmt.Errorf("the key source made no fresh key: %w", err))
	}
	identity, _, err := r.credentials()
	if err != nil {
		return failed(name, err)
	}
	grant, err := r.forger.ValidWith(fakes.ValidOptions{Key: key})
	if err != nil {
		return failed(name, err)
	}
	restore := r.cfg.KeySource.Outage(delay)
	defer restore()
	return r.call(ctx, name, callSpec{md: r.md(identity, grant), timeout: timeout, bound: bound})
}

// retiredKey is KEY-004: a key the key source served, and the target
// used, is retired; once the target has fetched the keys again (it must,
// to accept a grant signed by another new key), a grant signed by the
// retired key must be refused.
func (r *runner) retiredKey(ctx context.Context, _ *Case) []variant {
	const name = "retired"
	ks, ok := r.cfg.KeySource.(KeyRetirer)
	if !ok {
		return []variant{{name: name, skip: "the key source cannot retire a key (KeyRetirer)"}}
	}
	signed := func(key *token.Key) (metadata.MD, error) {
		identity, _, err := r.credentials()
		if err != nil {
			return nil, err
		}
		grant, err := r.forger.ValidWith(fakes.ValidOptions{Key: key})
		return r.md(identity, grant), err
	}
	accepted := func(key *token.Key, what string) error {
		md, err := signed(key)
		if err != nil {
			return err
		}
		if v := r.call(ctx, name, callSpec{md: md}); v.code != codes.OK {
			return fmt.Errorf("a grant signed by %s was refused (%s %s): does the target read its keys from the key source, and fetch again for a kid it does not know?",
				what, reason.CodeName(v.code), v.reason)
		}
		return nil
	}
	old, err := ks.Fresh(ctx)
	if err == nil {
		err = accepted(old, "a key the key source had just added")
	}
	if err == nil {
		err = ks.Retire(ctx, old.ID)
	}
	var next *token.Key
	if err == nil {
		next, err = ks.Fresh(ctx)
	}
	if err == nil {
		err = accepted(next, "the key added after the retirement")
	}
	if err != nil {
		return []variant{failed(name, err)}
	}
	md, err := signed(old)
	if err != nil {
		return []variant{failed(name, err)}
	}
	return []variant{r.call(ctx, name, callSpec{md: md})}
}

// keySourceDownWarm is OUT-003: the target has the signing key already, so
// a valid grant still passes while the key source is down.
func (r *runner) keySourceDownWarm(ctx context.Context, _ *Case) []variant {
	identity, grant, err := r.credentials()
	if err != nil {
		return []variant{failed("warm", err)}
	}
	// The first call warms the target's key cache, if it was cold; the key
	// source may just be back from an earlier case's outage, so it is
	// given a moment.
	for start := time.Now(); ; time.Sleep(warmPoll) {
		warm := r.call(ctx, "warm-up", callSpec{md: r.md(identity, grant)})
		if warm.code == codes.OK {
			break
		}
		if time.Since(start) > warmWait || ctx.Err() != nil {
			return []variant{failed("warm", fmt.Errorf("a valid call was still refused %s after the key source came back, before the outage (%s %s)",
				warmWait, reason.CodeName(warm.code), warm.reason))}
		}
	}
	restore := r.cfg.KeySource.Outage(0)
	defer restore()
	if identity, grant, err = r.credentials(); err != nil {
		return []variant{failed("warm", err)}
	}
	return []variant{r.call(ctx, "warm", callSpec{md: r.md(identity, grant)})}
}
