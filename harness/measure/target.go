package measure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/reason"
)

// Target is the service a measurement probes: it signs grants in the
// service's layout, calls the protected method with them, and reaches the
// hooks of the target's config. FromSession makes one of a conformance.Session.
type Target interface {
	// Mint signs a valid grant (and identity, in the two-token profile) changed as o says.
	Mint(o conformance.MintOptions) (Credential, error)
	// Call calls the protected method once with c.
	Call(ctx context.Context, c Credential) (conformance.Answer, error)
	// Declared returns what the target's config declares.
	Declared() Declared
	// KeySource returns the key source the config controls; nil when it names none.
	KeySource() conformance.KeySource
	// Revoke revokes the grant with jti id through the config's hook; conformance.ErrCannotRevoke without one.
	Revoke(ctx context.Context, id string) error
}

// Credential is what one call carries: an identity (empty in the single-token profile) and a grant.
type Credential struct {
	Identity, Grant string
}

// Declared are the values a target's config declares, which measurements compare with.
type Declared struct {
	// Leeway is the declared clock-skew tolerance (a config without one has conformance's default).
	Leeway time.Duration
	// MaxGrantLifetime is the declared longest grant; zero when not declared.
	MaxGrantLifetime time.Duration
}

// DefaultCallTimeout bounds each call FromSession's target makes.
const DefaultCallTimeout = 5 * time.Second

// FromSession returns s as a Target whose calls each end within DefaultCallTimeout.
func FromSession(s *conformance.Session) Target { return sessionTarget{s: s} }

// sessionTarget is a conformance.Session seen as a Target.
type sessionTarget struct{ s *conformance.Session }

// Mint signs with the session.
func (t sessionTarget) Mint(o conformance.MintOptions) (Credential, error) {
	identity, grant, err := t.s.Mint(o)
	return Credential{Identity: identity, Grant: grant}, err
}

// Call calls the protected method on the session's connection.
func (t sessionTarget) Call(ctx context.Context, c Credential) (conformance.Answer, error) {
	return t.s.Call(ctx, nil, false, t.s.Metadata(c.Identity, c.Grant), DefaultCallTimeout)
}

// Declared reads the session's config.
func (t sessionTarget) Declared() Declared {
	cfg := t.s.Config()
	return Declared{Leeway: cfg.Leeway, MaxGrantLifetime: cfg.MaxGrantLifetime}
}

// KeySource is the session's.
func (t sessionTarget) KeySource() conformance.KeySource { return t.s.KeySource() }

// Revoke uses the session's hook.
func (t sessionTarget) Revoke(ctx context.Context, id string) error { return t.s.Revoke(ctx, id) }

// ErrControlRefused is wrapped by a measurement's error when the target
// refused a fresh valid grant: nothing can be measured against it.
var ErrControlRefused = errors.New("the valid control call was refused")

// ErrInconclusive is wrapped when the target answered a probe with a code
// that neither accepts nor refuses the grant (it is unavailable, overloaded
// or too slow): a figure built on it would be wrong.
var ErrInconclusive = errors.New("the target answered neither OK nor a refusal")

// inconclusive are the codes of a call that did not reach a decision about the credential.
var inconclusive = map[codes.Code]bool{
	codes.Unavailable: true, codes.DeadlineExceeded: true, codes.Canceled: true,
	codes.ResourceExhausted: true, codes.Aborted: true,
}

// accepted reports whether a says the target accepted the grant: OK is
// acceptance, any other decision a refusal, and a transport failure an error.
func accepted(a conformance.Answer) (bool, error) {
	switch {
	case a.Code == codes.OK:
		return true, nil
	case inconclusive[a.Code]:
		return false, fmt.Errorf("%w: %s %s", ErrInconclusive, reason.CodeName(a.Code), brief(a.Message))
	}
	return false, nil
}

// prober makes a measurement's calls and counts them (from several goroutines, under load).
type prober struct {
	t Target
	n atomic.Int64
}

// probes is how many calls were made.
func (p *prober) probes() int { return int(p.n.Load()) }

// try mints a grant as o says, calls with it and reports whether it was accepted.
func (p *prober) try(ctx context.Context, o conformance.MintOptions) (bool, error) {
	c, err := p.t.Mint(o)
	if err != nil {
		return false, err
	}
	return p.call(ctx, c)
}

// call calls with c and reports whether it was accepted.
func (p *prober) call(ctx context.Context, c Credential) (bool, error) {
	ok, _, err := p.answer(ctx, c)
	return ok, err
}

// answer calls with c and returns the answer too.
func (p *prober) answer(ctx context.Context, c Credential) (bool, conformance.Answer, error) {
	if err := ctx.Err(); err != nil {
		return false, conformance.Answer{}, err
	}
	p.n.Add(1)
	a, err := p.t.Call(ctx, c)
	if err != nil {
		return false, a, err
	}
	ok, err := accepted(a)
	return ok, a, err
}

// control mints a grant as o says (a fresh valid one), makes sure the
// target accepts it and returns it: the error wraps ErrControlRefused when
// the target refuses it.
func (p *prober) control(ctx context.Context, o conformance.MintOptions) (Credential, error) {
	c, err := p.t.Mint(o)
	if err != nil {
		return Credential{}, err
	}
	ok, a, err := p.answer(ctx, c)
	if err != nil {
		return Credential{}, fmt.Errorf("the valid control call: %w", err)
	}
	if !ok {
		return Credential{}, fmt.Errorf("%w: %s %s", ErrControlRefused, reason.CodeName(a.Code), brief(a.Message))
	}
	return c, nil
}

// refusedUnderLoad calls with c load times at once and reports whether any call was refused.
func (p *prober) refusedUnderLoad(ctx context.Context, c Credential, load int) (bool, error) {
	if load <= 1 {
		ok, err := p.call(ctx, c)
		return !ok, err
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		refused bool
		first   error
	)
	for range load {
		wg.Go(func() {
			ok, err := p.call(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			refused = refused || (!ok && err == nil)
			if err != nil && first == nil {
				first = err
			}
		})
	}
	wg.Wait()
	if first != nil {
		return false, first
	}
	return refused, nil
}

// brief is a status message on one line, cut short for an error.
func brief(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// probeLifetime is the lifetime of the grants the window searches sign:
// the forger's own (five minutes), shortened to a declared cap.
func probeLifetime(d Declared) time.Duration {
	life := 5 * time.Minute
	if d.MaxGrantLifetime > 0 {
		life = min(life, d.MaxGrantLifetime)
	}
	return life
}

// wholeSecond returns t's Unix second and how far t is past it: claims carry whole seconds.
func wholeSecond(t time.Time) (time.Time, time.Duration) {
	base := time.Unix(t.Unix(), 0)
	return base, t.Sub(base)
}
