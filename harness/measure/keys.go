package measure

import (
	"context"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/harness/conformance"
)

// KeyRotation's defaults: key caches commonly keep a key set for minutes.
const (
	// DefaultKeyBound is how long each phase waits for the target to change its mind.
	DefaultKeyBound = 10 * time.Minute
	// DefaultKeyInterval is how often a grant signed by the new key is tried.
	DefaultKeyInterval = 100 * time.Millisecond
)

// The figures KeyRotation reports.
const (
	// FigureKeyRotation is the time from a new key being served to the target accepting grants it signed.
	FigureKeyRotation = "key-rotation"
	// FigureKeyRemoval is the time from a key no longer being served to the target refusing grants it signed.
	FigureKeyRemoval = "key-removal"
)

// KeyRotation measures how fast the target follows its key source: the
// source serves a fresh key (Fresh) and grants it signed are tried every
// Interval until accepted; then the source stops serving it (Retire, when
// the source is a conformance.KeyRetirer) and they are tried until refused.
type KeyRotation struct {
	// Bound ends a phase the target never completes; zero means DefaultKeyBound.
	Bound time.Duration
	// Interval is the time between tries; zero means DefaultKeyInterval.
	Interval time.Duration
	// Clock times the phases; nil means the real one.
	Clock clockwork.Clock
}

// Measure runs both phases against t.
func (m KeyRotation) Measure(ctx context.Context, t Target) (Result, error) {
	m = m.withDefaults()
	ks := t.KeySource()
	if ks == nil {
		return cannotMeasure(NameKeyRotation, "the config has no key source the suite controls (key_source:, or Config.KeySource)", 0), nil
	}
	p := &prober{t: t}
	fail := func(err error) (Result, error) {
		return Result{Name: NameKeyRotation, Probes: p.probes()}, fmt.Errorf("key-rotation: %w", err)
	}
	if _, err := p.control(ctx, conformance.MintOptions{}); err != nil {
		return fail(err)
	}
	key, err := ks.Fresh(ctx)
	if err != nil {
		return fail(fmt.Errorf("the key source's fresh key: %w", err))
	}
	poll := poller{clock: m.Clock, interval: m.Interval, bound: m.Bound}
	signed := conformance.MintOptions{Key: key}
	took, honoured, err := poll.until(ctx, m.Clock.Now(), func(ctx context.Context) (bool, error) {
		return p.try(ctx, signed)
	})
	if err != nil {
		return fail(fmt.Errorf("new key: %w", err))
	}
	rotation := Figure{Name: FigureKeyRotation, Value: took, AboveBound: !honoured, Bound: m.Bound, Resolution: m.Interval, Verdict: Measured}
	rotation.Comparison = fmt.Sprintf("a new key is honoured %s after the key source serves it, tried every %s (the config declares no key cache time)", took, m.Interval)
	if !honoured {
		rotation.Comparison = fmt.Sprintf("a new key is still refused %s after the key source serves it (the config declares no key cache time)", m.Bound)
	}
	r := Result{Name: NameKeyRotation, Figures: []Figure{rotation}}

	retirer, canRetire := ks.(conformance.KeyRetirer)
	switch {
	case !canRetire:
		r.Figures = append(r.Figures, unknownFigure(FigureKeyRemoval, "the key source cannot retire keys (conformance.KeyRetirer)", m.Bound))
	case !honoured:
		// Take the key back all the same: it must not outlive the measurement.
		if err := retirer.Retire(ctx, key.ID); err != nil {
			return fail(fmt.Errorf("retire the fresh key: %w", err))
		}
		r.Figures = append(r.Figures, unknownFigure(FigureKeyRemoval, "the new key was never honoured, so its removal cannot be timed", m.Bound))
	default:
		if err := retirer.Retire(ctx, key.ID); err != nil {
			return fail(fmt.Errorf("retire the fresh key: %w", err))
		}
		took, refused, err := poll.until(ctx, m.Clock.Now(), func(ctx context.Context) (bool, error) {
			ok, err := p.try(ctx, signed)
			return !ok, err
		})
		if err != nil {
			return fail(fmt.Errorf("removed key: %w", err))
		}
		removal := Figure{Name: FigureKeyRemoval, Value: took, AboveBound: !refused, Bound: m.Bound, Resolution: m.Interval, Verdict: Measured}
		removal.Comparison = fmt.Sprintf("a removed key is refused %s after the key source stops serving it, tried every %s (the config declares no key cache time)", took, m.Interval)
		if !refused {
			removal.Comparison = fmt.Sprintf("a removed key is still accepted %s after the key source stops serving it (the config declares no key cache time)", m.Bound)
		}
		r.Figures = append(r.Figures, removal)
	}
	r.Probes = p.probes()
	return summed(r), nil
}

// withDefaults fills m's zero fields.
func (m KeyRotation) withDefaults() KeyRotation {
	if m.Bound <= 0 {
		m.Bound = DefaultKeyBound
	}
	if m.Interval <= 0 {
		m.Interval = DefaultKeyInterval
	}
	if m.Clock == nil {
		m.Clock = clockwork.NewRealClock()
	}
	return m
}
