package conformance

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

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
	grant, err := r.mintGrant(token.NewIssuer(r.cfg.Grant.Name, token.NewKeySet(key), nil))
	if err != nil {
		return failed(name, err)
	}
	restore := r.cfg.KeySource.Outage(delay)
	defer restore()
	return r.call(ctx, name, callSpec{md: r.md(identity, grant), timeout: timeout, bound: bound})
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
