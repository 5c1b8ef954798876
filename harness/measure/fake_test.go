package measure_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/harness/measure"
	"github.com/jitbench/jitbench/reference/token"
)

// fakeLifetime is the lifetime of a grant the fake signs without a window, as the forger's.
const fakeLifetime = 5 * time.Minute

// start is the fake clock's start: a fraction of a second past a whole
// second, as a real clock is, so the whole-second claims drop something.
var start = time.Date(2026, 3, 4, 5, 6, 7, 370_000_000, time.UTC)

// fake is a simulated target: it keeps a clock offset from the test's fake
// clock and checks grants with a leeway, a lifetime cap, revocations that
// take effect after a delay, and keys its key source serves that it
// honours, or stops honouring, after a cache time.
type fake struct {
	clock *clockwork.FakeClock
	// offset is the target's clock minus ours; latency is how far each call moves the shared clock.
	offset, latency time.Duration
	leeway, maxLife time.Duration
	// noExp and noNbf skip the exp check and the nbf/iat check.
	noExp, noNbf bool
	// revokeDelay is how long a revocation takes to take effect; canRevoke says there is a hook.
	revokeDelay time.Duration
	canRevoke   bool
	// keys is the key source (nil: none); keyDelay is how long the target takes to follow it.
	keys     conformance.KeySource
	keyDelay time.Duration
	// answer, when set, is every call's code.
	answer   codes.Code
	declared measure.Declared

	mu      sync.Mutex
	revoked map[string]time.Time
	calls   int
}

// newFake is a target whose clock agrees with clock, with leeway 30 s and no other check.
func newFake(clock *clockwork.FakeClock) *fake {
	return &fake{clock: clock, leeway: 30 * time.Second, revoked: map[string]time.Time{}}
}

// claims are what the fake's grants carry.
type claims struct {
	Iat, Nbf, Exp int64
	Jti, Kid      string
}

func (f *fake) Mint(o conformance.MintOptions) (measure.Credential, error) {
	now := f.clock.Now().Unix()
	c := claims{Iat: now, Nbf: now, Exp: now + int64(fakeLifetime/time.Second), Jti: o.ID}
	if w := o.Window; !w.Expires.IsZero() {
		c.Exp = w.Expires.Unix()
		c.Iat = c.Exp - int64(fakeLifetime/time.Second)
		c.Nbf = c.Iat
	}
	if !o.Window.IssuedAt.IsZero() {
		c.Iat = o.Window.IssuedAt.Unix()
	}
	if !o.Window.NotBefore.IsZero() {
		c.Nbf = o.Window.NotBefore.Unix()
	}
	if o.Key != nil {
		c.Kid = o.Key.ID
	}
	b, err := json.Marshal(c)
	return measure.Credential{Identity: "id", Grant: string(b)}, err
}

func (f *fake) Call(_ context.Context, cr measure.Credential) (conformance.Answer, error) {
	if f.latency > 0 {
		f.clock.Advance(f.latency)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.answer != codes.OK {
		return conformance.Answer{Code: f.answer, Message: "the fake answers " + f.answer.String()}, nil
	}
	var c claims
	if err := json.Unmarshal([]byte(cr.Grant), &c); err != nil {
		return conformance.Answer{}, err
	}
	if why := f.refusal(c); why != "" {
		return conformance.Answer{Code: codes.Unauthenticated, Message: why}, nil
	}
	return conformance.Answer{Code: codes.OK}, nil
}

// refusal says why the fake refuses c, empty when it accepts it.
func (f *fake) refusal(c claims) string {
	ours := f.clock.Now()
	theirs := ours.Add(f.offset)
	switch {
	case !f.noExp && theirs.Sub(time.Unix(c.Exp, 0)) > f.leeway:
		return "expired"
	case !f.noNbf && (time.Unix(c.Nbf, 0).Sub(theirs) > f.leeway || time.Unix(c.Iat, 0).Sub(theirs) > f.leeway):
		return "not valid yet"
	case f.maxLife > 0 && time.Duration(c.Exp-c.Iat)*time.Second > f.maxLife:
		return "lives too long"
	}
	if at, ok := f.revoked[c.Jti]; ok && !ours.Before(at.Add(f.revokeDelay)) {
		return "revoked"
	}
	if c.Kid != "" {
		if ks, ok := f.keys.(interface {
			honoured(kid string, now time.Time, delay time.Duration) bool
		}); !ok || !ks.honoured(c.Kid, ours, f.keyDelay) {
			return "unknown kid"
		}
	}
	return ""
}

func (f *fake) Declared() measure.Declared { return f.declared }

func (f *fake) KeySource() conformance.KeySource { return f.keys }

func (f *fake) Revoke(_ context.Context, id string) error {
	if !f.canRevoke {
		return conformance.ErrCannotRevoke
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[id] = f.clock.Now()
	return nil
}

// callCount is how many calls the fake answered.
func (f *fake) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeKeys is a key source that remembers when each key was served and retired.
type fakeKeys struct {
	clock   clockwork.Clock
	mu      sync.Mutex
	served  map[string]time.Time
	retired map[string]time.Time
}

func newFakeKeys(clock clockwork.Clock) *fakeKeys {
	return &fakeKeys{clock: clock, served: map[string]time.Time{}, retired: map[string]time.Time{}}
}

func (k *fakeKeys) Fresh(context.Context) (*token.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := fmt.Sprintf("fresh-%d", len(k.served)+1)
	k.served[id] = k.clock.Now()
	return &token.Key{ID: id}, nil
}

func (k *fakeKeys) Retire(_ context.Context, kid string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.served[kid]; !ok {
		return errors.New("no such key")
	}
	k.retired[kid] = k.clock.Now()
	return nil
}

func (k *fakeKeys) Outage(time.Duration) func() { return func() {} }

// honoured reports whether a target that follows the source delay late accepts kid at now.
func (k *fakeKeys) honoured(kid string, now time.Time, delay time.Duration) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	served, ok := k.served[kid]
	if !ok || now.Before(served.Add(delay)) {
		return false
	}
	retired, gone := k.retired[kid]
	return !gone || now.Before(retired.Add(delay))
}

// freshOnly is a key source that cannot retire keys.
type freshOnly struct{ *fakeKeys }

func (freshOnly) Retire() {} // hides fakeKeys.Retire: not a conformance.KeyRetirer

// drive advances clock by step whenever something waits on it, until the test ends:
// the measurement's poll timers fire with no real sleep.
func drive(t *testing.T, clock *clockwork.FakeClock, step time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
	})
	go func() {
		defer close(done)
		for clock.BlockUntilContext(ctx, 1) == nil {
			clock.Advance(step)
		}
	}()
}

// ceilDiv is ⌈a/b⌉.
func ceilDiv(a, b time.Duration) int { return int((a + b - 1) / b) }
