package measure

import (
	"context"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/harness/conformance"
)

// DefaultLifetimeBound is how long a grant MaxLifetime tries at most by default.
const DefaultLifetimeBound = 30 * 24 * time.Hour

// FigureMaxLifetime is the longest grant lifetime (exp − iat) the target accepts.
const FigureMaxLifetime = "max-lifetime"

// MaxLifetime measures the longest grant the target accepts by bisecting
// exp − iat, with nbf = iat = now, until the target refuses.
type MaxLifetime struct {
	// Bound is the longest lifetime tried; zero means DefaultLifetimeBound.
	Bound time.Duration
	// Clock is our clock, which the grants' times are placed against; nil means the real one.
	Clock clockwork.Clock
}

// Measure runs the search against t.
func (m MaxLifetime) Measure(ctx context.Context, t Target) (Result, error) {
	bound := m.Bound
	if bound == 0 {
		bound = DefaultLifetimeBound
	}
	clock := m.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	decl := t.Declared()
	life := probeLifetime(decl)
	if bound <= life {
		return Result{Name: NameMaxLifetime}, fmt.Errorf("max-lifetime: the search bound %s is not past the control grant's lifetime %s", bound, life)
	}
	p := &prober{t: t}
	// iat and exp are whole seconds from the same base: the lifetime the target sees is exactly l.
	living := func(l time.Duration) conformance.MintOptions {
		base, _ := wholeSecond(clock.Now())
		return conformance.MintOptions{Window: conformance.Window{IssuedAt: base, NotBefore: base, Expires: base.Add(l)}}
	}
	if _, err := p.control(ctx, living(life)); err != nil {
		return Result{Name: NameMaxLifetime, Probes: p.probes()}, fmt.Errorf("max-lifetime: %w", err)
	}
	e, err := search(int64(life/time.Second), int64(bound/time.Second), func(l int64) (bool, error) {
		return p.try(ctx, living(seconds(l)))
	})
	if err != nil {
		return Result{Name: NameMaxLifetime, Probes: p.probes()}, fmt.Errorf("max-lifetime: %w", err)
	}
	f := Figure{Name: FigureMaxLifetime, Value: seconds(e.last), AboveBound: e.above, Bound: bound, Resolution: Resolution}
	f = compare(f, decl.MaxGrantLifetime, "max lifetime", "accepts grants %s longer than declared",
		"caps grants %s below the declared lifetime: valid grants of the declared lifetime are refused")
	return summed(Result{Name: NameMaxLifetime, Probes: p.probes(), Figures: []Figure{f}}), nil
}
