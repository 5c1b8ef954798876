package reports

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// maxFillSeconds bounds the gaps filled in a timeline (about 12 days), so a
// wrong clock can never make a timeline of billions of empty seconds.
const maxFillSeconds = 1 << 20

// Second is one second of the timeline. Calls count as sent in the second
// they were sent and as completed in the second they ended, so a stalled
// server shows as seconds with sends and no completions.
//
// Seconds are clock seconds (merging lines results up on them), so the
// window's first and last usually cover only part of theirs: a 3 s run
// from 12:00:00.4 spans four. Covered says how much; a rate is a count
// divided by it (Rate), never by a whole second.
type Second struct {
	// Unix is the second, as Unix time; merging lines seconds up on it.
	Unix int64
	// T is the number of seconds since the first second of the run's window.
	T int64
	// Covered is how much of this second lies inside the run's window
	// (run.start to run.end): a second, except at the window's ends.
	// Derived from the window; Read recomputes it.
	Covered time.Duration
	// Sent counts calls sent in this second.
	Sent int64
	// Completed counts calls that ended in this second.
	Completed int64
	// Codes counts the completed calls by code.
	Codes map[string]int64
	// P50, P90, P99 and Max describe the latency of the calls completed in this second, to 2 significant digits.
	P50, P90, P99, Max time.Duration
	// HDR is the encoded histogram of those latencies (1 µs..60 s, 2 digits), empty when none completed.
	HDR string
}

// secondJSON is a second on the wire, latencies in microseconds.
type secondJSON struct {
	Unix      int64            `json:"unix"`
	T         int64            `json:"t"`
	CoveredUS int64            `json:"covered_us"`
	Sent      int64            `json:"sent"`
	Completed int64            `json:"completed"`
	Codes     map[string]int64 `json:"codes,omitempty"`
	P50US     int64            `json:"p50_us,omitempty"`
	P90US     int64            `json:"p90_us,omitempty"`
	P99US     int64            `json:"p99_us,omitempty"`
	MaxUS     int64            `json:"max_us,omitempty"`
	HDR       string           `json:"hdr,omitempty"`
}

// MarshalJSON writes the second with latencies in microseconds.
func (s Second) MarshalJSON() ([]byte, error) {
	us := func(d time.Duration) int64 { return int64(d / time.Microsecond) }
	return json.Marshal(secondJSON{s.Unix, s.T, us(s.Covered), s.Sent, s.Completed, s.Codes,
		us(s.P50), us(s.P90), us(s.P99), us(s.Max), s.HDR})
}

// UnmarshalJSON reads a second; its percentiles, offset and coverage are recomputed by Read.
func (s *Second) UnmarshalJSON(b []byte) error {
	var j secondJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Second{Unix: j.Unix, T: j.T, Sent: j.Sent, Completed: j.Completed, Codes: j.Codes, HDR: j.HDR}
	return nil
}

// histogram decodes the second's histogram; an empty one when HDR is empty.
func (s *Second) histogram() (*hdr.Histogram, error) {
	if s.HDR == "" {
		return newSecondHDR(), nil
	}
	return decodeHDR(s.HDR, secondSigFigs)
}

// setHistogram stores h encoded, with the percentiles derived from it.
func (s *Second) setHistogram(h *hdr.Histogram) {
	if h.TotalCount() == 0 {
		s.HDR = ""
	} else {
		s.HDR = encodeHDR(h)
	}
	s.setStats(h)
}

// setStats sets the percentiles from h, the decoded HDR.
func (s *Second) setStats(h *hdr.Histogram) {
	if h.TotalCount() == 0 {
		s.P50, s.P90, s.P99, s.Max = 0, 0, 0, 0
		return
	}
	s.P50 = fromMicros(h.ValueAtPercentile(50))
	s.P90 = fromMicros(h.ValueAtPercentile(90))
	s.P99 = fromMicros(h.ValueAtPercentile(99))
	s.Max = fromMicros(h.Max())
}

// sumSeconds adds up the parts of one second from several results. The
// histograms are decoded and encoded once per second, however many parts.
func sumSeconds(unix int64, parts []*Second) (*Second, error) {
	out := &Second{Unix: unix}
	var withHist []*Second
	for _, p := range parts {
		out.Sent += p.Sent
		out.Completed += p.Completed
		addCounts(&out.Codes, p.Codes)
		if p.HDR != "" {
			withHist = append(withHist, p)
		}
	}
	switch len(withHist) {
	case 0:
	case 1:
		p := withHist[0]
		out.HDR, out.P50, out.P90, out.P99, out.Max = p.HDR, p.P50, p.P90, p.P99, p.Max
	default:
		sum := newSecondHDR()
		for _, p := range withHist {
			h, err := p.histogram()
			if err != nil {
				return nil, err
			}
			sum.Merge(h)
		}
		out.setHistogram(sum)
	}
	return out, nil
}

// absorb adds a recorder's live second to s.
func (s *Second) absorb(l *liveSecond) {
	s.Sent += l.sent
	s.Completed += l.completed
	addCounts(&s.Codes, l.codes)
	if l.h == nil || l.h.TotalCount() == 0 {
		return
	}
	h := l.h
	if s.HDR != "" {
		// Written by this package moments ago: it decodes.
		prev, err := s.histogram()
		if err != nil {
			panic("reports: re-reading a timeline histogram: " + err.Error())
		}
		prev.Merge(l.h)
		h = prev
	}
	s.setHistogram(h)
}

func addCounts(dst *map[string]int64, src map[string]int64) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = make(map[string]int64, len(src))
	}
	for k, n := range src {
		(*dst)[k] += n
	}
}

// liveSecond is a second still being recorded into by one recorder shard.
type liveSecond struct {
	sent, completed int64
	codes           map[string]int64
	h               *hdr.Histogram
}

// buildTimeline turns seconds keyed by Unix time into a timeline without
// gaps from the window's first second to its last, with T counted from the
// window's first second.
func buildTimeline(m map[int64]*Second, start, end time.Time) []Second {
	keys := slices.Sorted(maps.Keys(m))
	var bounds []int64
	if len(keys) > 0 {
		bounds = append(bounds, keys[0], keys[len(keys)-1])
	}
	if !start.IsZero() {
		bounds = append(bounds, start.Unix())
	}
	if !end.IsZero() {
		bounds = append(bounds, end.Unix())
	}
	if len(bounds) == 0 {
		return []Second{}
	}
	lo, hi := slices.Min(bounds), slices.Max(bounds)
	origin := lo
	if !start.IsZero() {
		origin = start.Unix()
	}
	out := make([]Second, 0, len(keys))
	if hi-lo > maxFillSeconds {
		for _, k := range keys {
			s := *m[k]
			s.T, s.Covered = k-origin, covered(k, start, end)
			out = append(out, s)
		}
		return out
	}
	for k := lo; k <= hi; k++ {
		s := Second{Unix: k}
		if v, ok := m[k]; ok {
			s = *v
		}
		s.T, s.Covered = k-origin, covered(k, start, end)
		out = append(out, s)
	}
	return out
}

// covered returns how much of the clock second unix lies between start and
// end; an unset bound does not cut the second.
func covered(unix int64, start, end time.Time) time.Duration {
	from, to := time.Unix(unix, 0), time.Unix(unix+1, 0)
	if !start.IsZero() && start.After(from) {
		from = start
	}
	if !end.IsZero() && end.Before(to) {
		to = end
	}
	if !to.After(from) {
		return 0
	}
	return to.Sub(from)
}

// Rate returns n calls of this second as calls per second of the time the
// second covers; 0 when it covers none.
func (s Second) Rate(n int64) float64 {
	if s.Covered <= 0 {
		return 0
	}
	return float64(n) / s.Covered.Seconds()
}

// checkTimeline verifies a timeline read from a file: seconds in strictly
// increasing order, every histogram decodes with the second geometry and
// holds the completed calls. It recomputes T, Covered and the percentiles.
func checkTimeline(tl []Second, start, end time.Time) error {
	for i := range tl {
		s := &tl[i]
		where := fmt.Sprintf("timeline[%d] (unix %d)", i, s.Unix)
		if i > 0 && s.Unix <= tl[i-1].Unix {
			return fmt.Errorf("%s: seconds out of order (after unix %d)", where, tl[i-1].Unix)
		}
		if s.Sent < 0 || s.Completed < 0 {
			return fmt.Errorf("%s: negative count", where)
		}
		var codes int64
		for code, n := range s.Codes {
			if n < 0 {
				return fmt.Errorf("%s: negative count for %s", where, code)
			}
			codes += n
		}
		if codes != s.Completed {
			return fmt.Errorf("%s: codes add up to %d, completed is %d", where, codes, s.Completed)
		}
		h, err := s.histogram()
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if h.TotalCount() != s.Completed {
			return fmt.Errorf("%s: histogram holds %d calls, completed is %d", where, h.TotalCount(), s.Completed)
		}
		s.setStats(h)
		if start.IsZero() {
			s.T = s.Unix - tl[0].Unix
		} else {
			s.T = s.Unix - start.Unix()
		}
		s.Covered = covered(s.Unix, start, end)
	}
	return nil
}
