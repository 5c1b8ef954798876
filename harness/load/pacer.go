package load

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Pacer is the arrival schedule of an open-loop run: it says when each call
// is due, whatever the server answers.
type Pacer interface {
	// Pace returns how long after elapsed call number sent (counting from 0)
	// is due. The wait is negative when that call was due -wait ago: the
	// generator sends it at once and still measures its latency from its due
	// time. stop ends the schedule: no call will ever be due again.
	Pace(elapsed time.Duration, sent uint64) (wait time.Duration, stop bool)
}

// PacerFunc adapts a function to a Pacer.
type PacerFunc func(elapsed time.Duration, sent uint64) (wait time.Duration, stop bool)

// Pace calls f(elapsed, sent).
func (f PacerFunc) Pace(elapsed time.Duration, sent uint64) (time.Duration, bool) {
	return f(elapsed, sent)
}

var (
	_ Pacer = PacerFunc(nil)
	_ Pacer = ConstantPacer{}
	_ Pacer = LinearPacer{}
	_ Pacer = StepPacer{}
)

// Rate is Freq calls every Per, as "1000/s" or "50/100ms" writes it.
type Rate struct {
	// Freq is the number of calls in each Per.
	Freq uint64
	// Per is the period; zero means a second.
	Per time.Duration
}

// ParseRate reads a rate: "1000/s", "1000" (per second), "50/100ms",
// "600/m" or "2.5/s"; the period is a Go duration whose leading 1 may be left
// out. A fractional rate is kept exact to a thousandth of a call.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	num, per, hasPer := strings.Cut(s, "/")
	if s == "" {
		return Rate{}, errors.New("empty rate (want e.g. 1000/s)")
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return Rate{}, fmt.Errorf("rate %q: want a number of calls and a period, e.g. 1000/s or 50/100ms", s)
	}
	p := time.Second
	if hasPer {
		per = strings.TrimSpace(per)
		if per != "" && (per[0] < '0' || per[0] > '9') && per[0] != '.' {
			per = "1" + per
		}
		if p, err = time.ParseDuration(per); err != nil || p <= 0 {
			return Rate{}, fmt.Errorf("rate %q: the period %q is not a positive duration (s, ms, m, ...)", s, strings.TrimPrefix(per, "1"))
		}
	}
	// Fractions are scaled into the period, so "2.5/s" is 2500 calls per 1000 s: exact integer arithmetic in ConstantPacer.
	if f != math.Trunc(f) {
		f *= 1000
		p *= 1000
	}
	if f > 1e12 {
		return Rate{}, fmt.Errorf("rate %q is beyond any generator", s)
	}
	return Rate{Freq: uint64(math.Round(f)), Per: p}, nil
}

// PerSecond returns the rate in calls per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return float64(r.Freq)
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// String writes the rate in calls per second ("1000/s").
func (r Rate) String() string { return fmtRate(r.PerSecond()) }

func fmtRate(perSecond float64) string {
	return strconv.FormatFloat(perSecond, 'f', -1, 64) + "/s"
}

// ConstantPacer schedules calls evenly at one rate: call n is due at n/rate.
type ConstantPacer struct {
	// Rate is the arrival rate; a zero Freq schedules nothing.
	Rate Rate
}

// Pace implements Pacer with integer arithmetic, so call five million is
// due exactly when it should be, with no drift from rounding.
func (p ConstantPacer) Pace(elapsed time.Duration, sent uint64) (time.Duration, bool) {
	if p.Rate.Freq == 0 {
		return 0, true
	}
	per := p.Rate.Per
	if per <= 0 {
		per = time.Second
	}
	// due = sent * per / freq, through 128 bits: no overflow for any count.
	hi, lo := bits.Mul64(sent, uint64(per))
	if hi >= p.Rate.Freq {
		return 0, true // due after the year 2262: never
	}
	q, _ := bits.Div64(hi, lo, p.Rate.Freq)
	if q > math.MaxInt64 {
		return 0, true
	}
	return time.Duration(q) - elapsed, false
}

// String describes the schedule ("1000/s").
func (p ConstantPacer) String() string { return p.Rate.String() }

// LinearPacer ramps the arrival rate linearly from From to To calls per
// second over Over, then holds To.
type LinearPacer struct {
	// From and To are rates in calls per second; either may be zero.
	From, To float64
	// Over is how long the ramp takes.
	Over time.Duration
}

// Pace implements Pacer. Call n is due when the calls due so far, the area
// under the rate line, reach n: a quadratic solved in closed form.
func (p LinearPacer) Pace(elapsed time.Duration, sent uint64) (time.Duration, bool) {
	due, ok := p.due(float64(sent))
	if !ok {
		return 0, true
	}
	return due - elapsed, false
}

func (p LinearPacer) due(n float64) (time.Duration, bool) {
	if n == 0 && (p.From > 0 || p.To > 0) {
		return 0, true
	}
	T := p.Over.Seconds()
	a, b := p.From, p.To
	if T <= 0 {
		return steady(0, 0, n, b)
	}
	rampCalls := (a + b) * T / 2
	if n > rampCalls {
		return steady(p.Over, rampCalls, n, b)
	}
	// n = a·t + s·t²/2 with s = (b−a)/T; t = 2n / (a + √(a² + 2sn)) avoids
	// the cancellation of the textbook formula when s is small.
	s := (b - a) / T
	disc := math.Max(0, a*a+2*s*n)
	den := a + math.Sqrt(disc)
	if den <= 0 {
		return 0, false
	}
	return seconds(2 * n / den), true
}

// steady returns when call n is due at a constant rate after start, when done calls were due.
func steady(start time.Duration, done, n, rate float64) (time.Duration, bool) {
	if rate <= 0 {
		return 0, false
	}
	return start + seconds((n-done)/rate), true
}

func seconds(s float64) time.Duration {
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(math.Round(s * float64(time.Second)))
}

// String describes the schedule ("ramp 0/s to 1000/s over 30s").
func (p LinearPacer) String() string {
	return fmt.Sprintf("ramp %s to %s over %s", fmtRate(p.From), fmtRate(p.To), p.Over)
}

// StepPacer raises (or lowers) the rate from From to To in Steps equal
// steps, each lasting Over/Steps, then holds To: a staircase where
// LinearPacer is a slope.
type StepPacer struct {
	// From and To are the first and last step's rates in calls per second.
	From, To float64
	// Steps is the number of steps, at least 2 (one step is a constant rate).
	Steps int
	// Over is how long the staircase takes.
	Over time.Duration
}

// Pace implements Pacer.
func (p StepPacer) Pace(elapsed time.Duration, sent uint64) (time.Duration, bool) {
	due, ok := p.due(float64(sent))
	if !ok {
		return 0, true
	}
	return due - elapsed, false
}

func (p StepPacer) due(n float64) (time.Duration, bool) {
	if p.Steps < 2 {
		return steady(0, 0, n, p.To)
	}
	step := p.Over / time.Duration(p.Steps)
	var done float64
	for k := range p.Steps {
		rate := p.From + float64(k)*(p.To-p.From)/float64(p.Steps-1)
		calls := rate * step.Seconds()
		if n < done+calls {
			return time.Duration(k)*step + seconds((n-done)/rate), true
		}
		done += calls
	}
	return steady(time.Duration(p.Steps)*step, done, n, p.To)
}

// String describes the schedule ("steps 100/s to 1000/s in 4 steps over 30s").
func (p StepPacer) String() string {
	return fmt.Sprintf("steps %s to %s in %d steps over %s", fmtRate(p.From), fmtRate(p.To), p.Steps, p.Over)
}

// ParseRamp reads a ramp "FROM→TO" such as "0→1000/s" or "100->1000/s":
// two rates, the period written once at the end applying to both.
func ParseRamp(s string) (from, to Rate, err error) {
	var a, b string
	var ok bool
	for _, sep := range []string{"→", "->", ".."} {
		if a, b, ok = strings.Cut(s, sep); ok {
			break
		}
	}
	if !ok {
		return Rate{}, Rate{}, fmt.Errorf("ramp %q: want FROM→TO, e.g. 0→1000/s or 100->1000/s", s)
	}
	if !strings.Contains(a, "/") {
		if _, per, has := strings.Cut(b, "/"); has {
			a += "/" + per
		}
	}
	if from, err = ParseRate(a); err != nil {
		return Rate{}, Rate{}, fmt.Errorf("ramp %q: %w", s, err)
	}
	if to, err = ParseRate(b); err != nil {
		return Rate{}, Rate{}, fmt.Errorf("ramp %q: %w", s, err)
	}
	return from, to, nil
}
