package measure

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/token"
)

// Revocation's defaults.
const (
	// DefaultRevocationSamples is how many grants are revoked.
	DefaultRevocationSamples = 5
	// DefaultPollInterval is how often a revoked grant is tried.
	DefaultPollInterval = 20 * time.Millisecond
	// DefaultRevocationBound is how long a revoked grant is tried before the sample ends "still accepted".
	DefaultRevocationBound = 30 * time.Second
)

// The figures Revocation reports: percentiles of the time from the revoke
// hook's return to the first refusal of the revoked grant.
const (
	// FigureRevocationP50 is the median sample.
	FigureRevocationP50 = "revocation-p50"
	// FigureRevocationP99 is the 99th percentile sample (nearest rank).
	FigureRevocationP99 = "revocation-p99"
	// FigureRevocationMax is the slowest sample.
	FigureRevocationMax = "revocation-max"
)

// Revocation measures how long a revocation takes to propagate: for each
// sample it signs a grant with a known jti, checks the target accepts it,
// revokes it through the config's hook and tries it every Interval until
// the target refuses it. The clock starts when the hook returns (the
// target has been told), so a slow hook is not counted against the target.
type Revocation struct {
	// Samples is how many grants are revoked; zero means DefaultRevocationSamples.
	Samples int
	// Interval is the time between tries; zero means DefaultPollInterval.
	Interval time.Duration
	// Bound ends a sample whose grant is still accepted; zero means DefaultRevocationBound.
	Bound time.Duration
	// Load is how many calls each try sends at once, to measure under load
	// (any refusal ends the sample); zero means one.
	Load int
	// Clock times the samples; nil means the real one.
	Clock clockwork.Clock
}

// Measure takes the samples against t.
func (m Revocation) Measure(ctx context.Context, t Target) (Result, error) {
	defaultBound := m.Bound == 0
	m = m.withDefaults()
	life := probeLifetime(t.Declared())
	if defaultBound && m.Bound >= life {
		// A service with short grants: search for as long as a grant lives, less a margin.
		m.Bound = life * 3 / 4
	}
	if m.Bound >= life || m.Bound <= 0 {
		// An expired grant is refused too: that must not pass for a revocation.
		return Result{Name: NameRevocation}, fmt.Errorf("revocation: the bound %s is not shorter than the grant's lifetime %s", m.Bound, life)
	}
	p := &prober{t: t}
	poll := poller{clock: m.Clock, interval: m.Interval, bound: m.Bound}
	var samples []time.Duration
	censored := 0
	for range m.Samples {
		id := "jitbench-measure-" + token.NewID()
		base, _ := wholeSecond(m.Clock.Now())
		c, err := p.control(ctx, conformance.MintOptions{ID: id,
			Window: conformance.Window{IssuedAt: base, NotBefore: base, Expires: base.Add(life)}})
		if err != nil {
			return Result{Name: NameRevocation, Probes: p.probes()}, fmt.Errorf("revocation: %w", err)
		}
		if err := t.Revoke(ctx, id); errors.Is(err, conformance.ErrCannotRevoke) {
			return cannotMeasure(NameRevocation, "the config has no revoke hook (revoke: command or url, or Config.Revoker)", p.probes()), nil
		} else if err != nil {
			return Result{Name: NameRevocation, Probes: p.probes()}, fmt.Errorf("revocation: the revoke hook: %w", err)
		}
		at, refused, err := poll.until(ctx, m.Clock.Now(), func(ctx context.Context) (bool, error) {
			return p.refusedUnderLoad(ctx, c, m.Load)
		})
		if err != nil {
			return Result{Name: NameRevocation, Probes: p.probes()}, fmt.Errorf("revocation: %w", err)
		}
		if !refused {
			censored++
		}
		samples = append(samples, at)
	}
	r := Result{Name: NameRevocation, Probes: p.probes(), Samples: samples}
	sorted := slices.Sorted(slices.Values(samples))
	for _, q := range []struct {
		name string
		rank float64
		what string
	}{{FigureRevocationP50, 0.50, "the median sample"}, {FigureRevocationP99, 0.99, "the 99th percentile"}, {FigureRevocationMax, 1, "the slowest sample"}} {
		// Nearest rank; the censored samples (at the bound) sort last.
		i := int(math.Ceil(q.rank*float64(len(sorted)))) - 1
		f := Figure{Name: q.name, Value: sorted[i], Bound: m.Bound, Resolution: m.Interval, Verdict: Measured,
			AboveBound: i >= len(sorted)-censored}
		if f.AboveBound {
			f.Comparison = fmt.Sprintf("a revoked grant is still accepted after %s in %s of %d (the config declares no revocation delay)", m.Bound, q.what, len(sorted))
		} else {
			f.Comparison = fmt.Sprintf("a revoked grant is refused %s after the hook returns in %s of %d, polled every %s (the config declares no revocation delay)",
				f.Value, q.what, len(sorted), m.Interval)
		}
		r.Figures = append(r.Figures, f)
	}
	return summed(r), nil
}

// withDefaults fills m's zero fields.
func (m Revocation) withDefaults() Revocation {
	if m.Samples <= 0 {
		m.Samples = DefaultRevocationSamples
	}
	if m.Interval <= 0 {
		m.Interval = DefaultPollInterval
	}
	if m.Bound <= 0 {
		m.Bound = DefaultRevocationBound
	}
	if m.Load <= 0 {
		m.Load = 1
	}
	if m.Clock == nil {
		m.Clock = clockwork.NewRealClock()
	}
	return m
}
