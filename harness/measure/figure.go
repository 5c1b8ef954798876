package measure

import (
	"fmt"
	"time"
)

// Verdict is how a figure compares with what the config declares.
type Verdict string

// The verdicts of a figure and of a result.
const (
	// Match: the measured value is the declared one within the figure's resolution.
	Match Verdict = "match"
	// Differs: the measured value is further from the declared one than the resolution.
	Differs Verdict = "differs"
	// Measured: the config declares nothing to compare the value with.
	Measured Verdict = "measured"
	// CannotMeasure: the figure could not be taken; Why says why.
	CannotMeasure Verdict = "cannot-measure"
)

// Resolution is the resolution of the leeway, clock-offset and lifetime
// figures: claims carry whole seconds, and the tolerance is the same.
const Resolution = time.Second

// Figure is one measured property of the target.
type Figure struct {
	// Name says what was measured: "leeway", "clock-offset", "max-lifetime", …
	Name string `json:"name"`
	// Value is the measured value; when AboveBound it is the bound.
	Value time.Duration `json:"value"`
	// AboveBound says the search never flipped: the value is more than Bound.
	AboveBound bool `json:"above_bound,omitempty"`
	// Bound is how far the search went.
	Bound time.Duration `json:"bound"`
	// Resolution is the value's precision, ±.
	Resolution time.Duration `json:"resolution"`
	// Declared is the config's value (zero, absent, when it declares none).
	Declared time.Duration `json:"declared,omitempty"`
	// Comparison says in words how Value compares with Declared.
	Comparison string `json:"comparison"`
	// Verdict is the comparison's outcome; Why says why when it is CannotMeasure.
	Verdict Verdict `json:"verdict"`
	Why     string  `json:"why,omitempty"`
}

// Result is what one measurement found.
type Result struct {
	// Name is the measurement's registry name ("leeway").
	Name string `json:"name"`
	// Figures are its measured values.
	Figures []Figure `json:"figures,omitempty"`
	// Verdict sums the figures up: Differs when one differs, CannotMeasure when none could be taken.
	Verdict Verdict `json:"verdict"`
	// Why says why nothing could be measured.
	Why string `json:"why,omitempty"`
	// Probes counts the calls made to the protected method.
	Probes int `json:"probes"`
	// Samples are the individual timings of a repeated measurement (revocation), in order.
	Samples []time.Duration `json:"samples,omitempty"`
}

// Figure returns the figure called name.
func (r Result) Figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// cannotMeasure is a result with nothing measured, for why.
func cannotMeasure(name, why string, probes int) Result {
	return Result{Name: name, Verdict: CannotMeasure, Why: why, Probes: probes}
}

// summed fills r's verdict from its figures and returns r: a difference
// outweighs a match, a match a bare measurement; with none of them, nothing
// could be measured, and r says why.
func summed(r Result) Result {
	has := map[Verdict]bool{}
	for _, f := range r.Figures {
		has[f.Verdict] = true
	}
	switch {
	case has[Differs]:
		r.Verdict = Differs
	case has[Match]:
		r.Verdict = Match
	case has[Measured]:
		r.Verdict = Measured
	default:
		r.Verdict = CannotMeasure
		for _, f := range r.Figures {
			if r.Why == "" {
				r.Why = f.Why
			}
		}
	}
	return r
}

// unknownFigure is a figure that could not be taken, for why.
func unknownFigure(name, why string, bound time.Duration) Figure {
	return Figure{Name: name, Bound: bound, Verdict: CannotMeasure, Why: why, Comparison: "cannot measure: " + why}
}

// compare sets f's verdict and comparison against declared: what names the
// property ("leeway"), more and less say what a larger or smaller value
// means for the service (a clause after "the service").
func compare(f Figure, declared time.Duration, what, more, less string) Figure {
	f.Declared = declared
	measured := "measured " + f.Value.String()
	if f.AboveBound {
		measured = "measured more than " + f.Bound.String() + " (the search bound)"
	}
	if declared == 0 {
		f.Verdict = Measured
		f.Comparison = fmt.Sprintf("%s %s; the config declares none", what, measured)
		return f
	}
	diff := f.Value - declared
	switch {
	case f.AboveBound && diff <= 0:
		f.Verdict = Match
		f.Comparison = fmt.Sprintf("declared %s %s, %s: consistent with the declaration, which is past the bound", what, declared, measured)
	case !f.AboveBound && diff.Abs() <= f.Resolution:
		f.Verdict = Match
		f.Comparison = fmt.Sprintf("declared %s %s, %s: as declared (±%s)", what, declared, measured, f.Resolution)
	case diff > 0:
		f.Verdict = Differs
		f.Comparison = fmt.Sprintf("declared %s %s, %s: the service %s", what, declared, measured, fmt.Sprintf(more, diffText(diff, f.AboveBound)))
	default:
		f.Verdict = Differs
		f.Comparison = fmt.Sprintf("declared %s %s, %s: the service %s", what, declared, measured, fmt.Sprintf(less, (-diff).String()))
	}
	return f
}

// diffText is a difference in words, "more than" one when the value is past the bound.
func diffText(d time.Duration, above bool) string {
	if above {
		return "more than " + d.String()
	}
	return d.String()
}

// rounded rounds a measured time to a tenth of a second, the most its whole-second probes can say.
func rounded(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
