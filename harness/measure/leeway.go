package measure

import (
	"context"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/harness/conformance"
)

// DefaultWindowBound is how far Leeway searches each side by default: a
// day into the past for exp and into the future for nbf.
const DefaultWindowBound = 24 * time.Hour

// Leeway measures the target's clock-skew tolerance and how far its clock
// is from ours, by bisecting how long after exp, and how long before nbf,
// a grant is still accepted (the package comment has the algebra).
type Leeway struct {
	// Bound is how far each side is searched; zero means DefaultWindowBound.
	Bound time.Duration
	// Clock is our clock, which the grants' times are placed against; nil means the real one.
	Clock clockwork.Clock
}

// The figures Leeway reports.
const (
	// FigureLeeway is the tolerance, the mean of the two edges.
	FigureLeeway = "leeway"
	// FigureClockOffset is the target's clock minus ours, half the edges' difference.
	FigureClockOffset = "clock-offset"
	// FigureExpTolerance is how long after its exp a grant is still accepted.
	FigureExpTolerance = "exp-tolerance"
	// FigureNbfTolerance is how long before its nbf (or iat) a grant is already accepted.
	FigureNbfTolerance = "nbf-tolerance"
)

// Measure runs both searches against t.
func (m Leeway) Measure(ctx context.Context, t Target) (Result, error) {
	bound := m.Bound
	if bound == 0 {
		bound = DefaultWindowBound
	}
	if bound < time.Second {
		return Result{Name: NameLeeway}, fmt.Errorf("leeway: the search bound %s is under a second", bound)
	}
	clock := m.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	p := &prober{t: t}
	life := probeLifetime(t.Declared())
	secs, lifeSecs := int64(bound/time.Second), int64(life/time.Second)

	// The control is a fresh grant: on the exp side it sits life before
	// the edge (exp life from now), on the nbf side at zero (nbf now).
	var past, future bracket
	base, frac := wholeSecond(clock.Now())
	control := conformance.MintOptions{Window: conformance.Window{IssuedAt: base, NotBefore: base, Expires: base.Add(life)}}
	if _, err := p.control(ctx, control); err != nil {
		return Result{Name: NameLeeway, Probes: p.probes()}, fmt.Errorf("leeway: %w", err)
	}
	past.saw(true, -life+frac)
	future.saw(true, -frac)

	// exp = now − x, the grant living life seconds up to it.
	expired := func(x int64) (bool, error) {
		base, frac := wholeSecond(clock.Now())
		exp := base.Add(-seconds(x))
		ok, err := p.try(ctx, conformance.MintOptions{Window: conformance.Window{
			IssuedAt: exp.Add(-life), NotBefore: exp.Add(-life), Expires: exp}})
		if err == nil {
			past.saw(ok, seconds(x)+frac)
		}
		return ok, err
	}
	// nbf = iat = now + y (a layout without nbf has only iat to move), exp life after.
	early := func(y int64) (bool, error) {
		base, frac := wholeSecond(clock.Now())
		nbf := base.Add(seconds(y))
		ok, err := p.try(ctx, conformance.MintOptions{Window: conformance.Window{
			IssuedAt: nbf, NotBefore: nbf, Expires: nbf.Add(life)}})
		if err == nil {
			future.saw(ok, seconds(y)-frac)
		}
		return ok, err
	}
	pastEdge, err := search(-lifeSecs, secs, expired)
	if err != nil {
		return Result{Name: NameLeeway, Probes: p.probes()}, fmt.Errorf("leeway: exp search: %w", err)
	}
	futureEdge, err := search(0, secs, early)
	if err != nil {
		return Result{Name: NameLeeway, Probes: p.probes()}, fmt.Errorf("leeway: nbf search: %w", err)
	}
	return summed(Result{Name: NameLeeway, Probes: p.probes(),
		Figures: leewayFigures(t.Declared().Leeway, bound, past.edge(pastEdge), future.edge(futureEdge))}), nil
}

// leewayFigures turns the two edges (the estimated tolerance past exp and
// before nbf, nil when the search never flipped) into figures.
func leewayFigures(declared, bound time.Duration, past, future *time.Duration) []Figure {
	tolerance := func(name string, v *time.Duration, text string) Figure {
		f := Figure{Name: name, Bound: bound, Resolution: Resolution, Verdict: Measured}
		if v == nil {
			f.Value, f.AboveBound = bound, true
			f.Comparison = fmt.Sprintf(text, "more than "+bound.String()+" (the search bound)")
			return f
		}
		f.Value = rounded(*v)
		f.Comparison = fmt.Sprintf(text, f.Value.String())
		return f
	}
	figs := []Figure{
		tolerance(FigureExpTolerance, past, "a grant is accepted until %s after its exp (leeway minus the clock offset)"),
		tolerance(FigureNbfTolerance, future, "a grant is accepted from %s before its nbf or iat (leeway plus the clock offset)"),
	}
	noOffset := "the clock offset needs both edges, and the %s search never flipped within " + bound.String()
	switch {
	case past == nil:
		lw := Figure{Name: FigureLeeway, Value: bound, AboveBound: true, Bound: bound, Resolution: Resolution}
		figs = append(figs, compare(lw, declared, "leeway", "accepts grants expired %s longer ago than declared", ""),
			unknownFigure(FigureClockOffset, fmt.Sprintf(noOffset, "exp"), bound))
	case future == nil:
		why := "grants not valid for more than " + bound.String() +
			" are accepted: the service checks neither nbf nor iat against its clock, so leeway and clock offset cannot be told apart"
		figs = append(figs, unknownFigure(FigureLeeway, why, bound), unknownFigure(FigureClockOffset, fmt.Sprintf(noOffset, "nbf"), bound))
	default:
		lw := Figure{Name: FigureLeeway, Value: rounded((*past + *future) / 2), Bound: bound, Resolution: Resolution}
		figs = append(figs, compare(lw, declared, "leeway", "tolerates %s more skew than declared",
			"tolerates %s less skew than declared: callers whose clocks are off by less than the declared leeway are refused"),
			offsetFigure(rounded((*future-*past)/2), bound))
	}
	return figs
}

// offsetFigure is the clock offset d (the target's clock minus ours), compared with the zero a config assumes.
func offsetFigure(d, bound time.Duration) Figure {
	f := Figure{Name: FigureClockOffset, Value: d, Bound: bound, Resolution: Resolution, Verdict: Match}
	switch {
	case d.Abs() <= Resolution:
		f.Comparison = fmt.Sprintf("the target's clock agrees with ours (measured %s, ±%s)", d, Resolution)
		return f
	case d > 0:
		f.Comparison = fmt.Sprintf("the target's clock is %s ahead of ours (the config assumes they agree)", d)
	default:
		f.Comparison = fmt.Sprintf("the target's clock is %s behind ours (the config assumes they agree)", -d)
	}
	f.Verdict = Differs
	return f
}

// bracket is what one side's probes say about its edge, in time from our
// clock at signing: the edge is at least the largest offset accepted and
// less than the smallest refused. The offsets carry the fraction of a
// second the whole-second claims dropped, so the bracket is about a second wide.
type bracket struct {
	accepted, refused time.Duration
	hasAccepted       bool
	hasRefused        bool
}

// saw records a probe at offset u.
func (b *bracket) saw(ok bool, u time.Duration) {
	switch {
	case ok && (!b.hasAccepted || u > b.accepted):
		b.accepted, b.hasAccepted = u, true
	case !ok && (!b.hasRefused || u < b.refused):
		b.refused, b.hasRefused = u, true
	}
}

// edge estimates the edge as the middle of the bracket; nil when the search never flipped.
func (b *bracket) edge(e edge) *time.Duration {
	if e.above || !b.hasRefused {
		return nil
	}
	mid := b.accepted + (b.refused-b.accepted)/2
	return &mid
}

// seconds is n whole seconds.
func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }
