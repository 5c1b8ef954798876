package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry. Every histogram of a kind has the same geometry, which
// is what makes merging exact: two histograms of one geometry add bucket by
// bucket, with no resampling.
const (
	// lowestUS is the lowest discernible latency, in microseconds (the unit of every histogram).
	lowestUS = 1
	// highestUS is the highest trackable latency: 60 s. Longer calls are counted as 60 s (see Result.OverRange).
	highestUS = 60_000_000
	// sigFigs keeps 3 significant digits (0.1 %) for the run's histograms.
	sigFigs = 3
	// secondSigFigs keeps 2 significant digits (1 %) for the timeline's
	// per-second histograms: a plot point needs no more, and a dense
	// histogram of this geometry is 20 KiB instead of 136 KiB.
	secondSigFigs = 2
)

// Histogram is a latency distribution: an HDR histogram from 1 µs to 60 s
// with 3 significant digits, stored in JSON in its compressed encoding.
//
// The zero value and nil are valid empty histograms for reading. A Histogram
// is not safe for concurrent mutation; Results are built once and then read.
type Histogram struct {
	h *hdr.Histogram
}

// NewHistogram returns an empty histogram of the run geometry.
func NewHistogram() *Histogram {
	return &Histogram{h: newRunHDR()}
}

func newRunHDR() *hdr.Histogram    { return hdr.New(lowestUS, highestUS, sigFigs) }
func newSecondHDR() *hdr.Histogram { return hdr.New(lowestUS, highestUS, secondSigFigs) }

// toMicros converts a latency to the histograms' unit, clamped to their
// range; over reports whether it was above the range.
func toMicros(d time.Duration) (us int64, over bool) {
	if d <= 0 {
		return 0, false
	}
	us = int64((d + time.Microsecond/2) / time.Microsecond)
	if us > highestUS {
		return highestUS, true
	}
	return us, false
}

func fromMicros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// Record adds one latency, clamped to 0..60 s; it reports whether the value
// was above the range and so counted as 60 s.
func (h *Histogram) Record(d time.Duration) (over bool) {
	if h.h == nil {
		h.h = newRunHDR()
	}
	us, over := toMicros(d)
	// Cannot fail: us is within the geometry.
	_ = h.h.RecordValue(us)
	return over
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 {
	if h == nil || h.h == nil {
		return 0
	}
	return h.h.TotalCount()
}

// Percentile returns the latency at percentile p (0..100), to 3 significant digits; 0 when empty.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return fromMicros(h.h.ValueAtPercentile(p))
}

// Max returns the largest latency recorded, to 3 significant digits.
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return fromMicros(h.h.Max())
}

// Min returns the smallest latency recorded, to 3 significant digits.
func (h *Histogram) Min() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return fromMicros(h.h.Min())
}

// Mean returns the mean latency, estimated from bucket midpoints.
func (h *Histogram) Mean() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(math.Round(h.h.Mean() * float64(time.Microsecond)))
}

// Sum returns the total of all latencies, estimated from bucket midpoints;
// Prometheus summaries need it.
func (h *Histogram) Sum() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(math.Round(h.h.Mean() * float64(h.Count()) * float64(time.Microsecond)))
}

// Merge adds every value of o to h; both have the run geometry, so nothing is approximated.
func (h *Histogram) Merge(o *Histogram) {
	if o.Count() == 0 {
		return
	}
	if h.h == nil {
		h.h = newRunHDR()
	}
	// Same geometry on both sides (Read checks it), so nothing is dropped.
	h.h.Merge(o.h)
}

// Clone returns an independent copy of h.
func (h *Histogram) Clone() *Histogram {
	if h == nil || h.h == nil {
		return NewHistogram()
	}
	return &Histogram{h: h.h.Clone()}
}

// Encoded returns the compressed, base64 HDR encoding stored in JSON; other
// HdrHistogram implementations (Java, C, Python) read it as is.
func (h *Histogram) Encoded() string {
	if h == nil || h.h == nil {
		return encodeHDR(newRunHDR())
	}
	return encodeHDR(h.h)
}

// bucket is one non-empty bucket of a histogram: values in [from, to], in µs.
type bucket struct {
	from, to, count int64
}

// buckets lists the non-empty buckets in ascending order, for plots.
func (h *Histogram) buckets() []bucket {
	if h.Count() == 0 {
		return nil
	}
	var out []bucket
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, bucket{from: b.From, to: b.To, count: b.Count})
		}
	}
	return out
}

// decodeHDR decodes an encoded histogram and checks that it has the geometry
// of its kind: a histogram of another geometry would not merge exactly.
func decodeHDR(s string, digits int64) (*hdr.Histogram, error) {
	if s == "" {
		return nil, errors.New("no encoded histogram")
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("bad encoded histogram: %w", err)
	}
	if h.LowestTrackableValue() != lowestUS || h.HighestTrackableValue() != highestUS || h.SignificantFigures() != digits {
		return nil, fmt.Errorf("histogram geometry %d..%d µs with %d digits, want %d..%d µs with %d",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), lowestUS, highestUS, digits)
	}
	return h, nil
}

// histogramJSON is a histogram on the wire: summary figures in microseconds
// for people and jq, and the encoding, which alone is read back.
type histogramJSON struct {
	Count   int64   `json:"count"`
	MinUS   int64   `json:"min_us"`
	MeanUS  float64 `json:"mean_us"`
	P50US   int64   `json:"p50_us"`
	P90US   int64   `json:"p90_us"`
	P99US   int64   `json:"p99_us"`
	P999US  int64   `json:"p99_9_us"`
	P9999US int64   `json:"p99_99_us"`
	MaxUS   int64   `json:"max_us"`
	HDR     string  `json:"hdr"`
}

// MarshalJSON writes the summary figures and the encoding.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	us := func(d time.Duration) int64 { return int64(d / time.Microsecond) }
	return json.Marshal(histogramJSON{
		Count:   h.Count(),
		MinUS:   us(h.Min()),
		MeanUS:  math.Round(float64(h.Mean())/float64(time.Microsecond)*10) / 10,
		P50US:   us(h.Percentile(50)),
		P90US:   us(h.Percentile(90)),
		P99US:   us(h.Percentile(99)),
		P999US:  us(h.Percentile(99.9)),
		P9999US: us(h.Percentile(99.99)),
		MaxUS:   us(h.Max()),
		HDR:     h.Encoded(),
	})
}

// UnmarshalJSON reads the encoding; the summary figures are derived from it
// and ignored, so an edited figure can never disagree with the data.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j struct {
		HDR string `json:"hdr"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := decodeHDR(j.HDR, sigFigs)
	if err != nil {
		// A type error is the one kind encoding/json annotates with the
		// field path, so Read can say which histogram is bad.
		return &json.UnmarshalTypeError{Value: err.Error(), Type: histogramType}
	}
	h.h = d
	return nil
}

var histogramType = reflect.TypeFor[Histogram]()

// Histograms maps a name (a code, a reason, a phase) to its latency histogram.
type Histograms map[string]*Histogram

// UnmarshalJSON reads each histogram and names the key of a bad one.
func (m *Histograms) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Histograms, len(raw))
	for _, k := range sortedKeys(raw) { // the first bad key, always the same one
		h := new(Histogram)
		if err := json.Unmarshal(raw[k], h); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				te.Field = k
				return te
			}
			return fmt.Errorf("%s: %w", k, err)
		}
		out[k] = h
	}
	*m = out
	return nil
}

// sortedKeys returns the keys of a count or histogram map in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
