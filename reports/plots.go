package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot size: wide enough for a long timeline, short enough for three on a screen.
const (
	plotWidth  = 10 * vg.Inch
	plotHeight = 3.6 * vg.Inch
)

// sans is the plots' font. The SVGs name it without embedding it (an
// embedded face costs 400 KiB a plot); svgFonts adds generic fallbacks.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// codeColors gives the common codes fixed colours, so OK is green in every report.
var codeColors = map[string]color.Color{
	"OK":                rgb(0x2c, 0xa0, 0x2c),
	"PERMISSION_DENIED": rgb(0xff, 0x7f, 0x0e),
	"UNAUTHENTICATED":   rgb(0xd6, 0x27, 0x28),
	"DEADLINE_EXCEEDED": rgb(0x94, 0x67, 0xbd),
	"UNAVAILABLE":       rgb(0x7f, 0x7f, 0x7f),
}

// otherColors are used in turn for the codes without a fixed colour.
var otherColors = []color.Color{
	rgb(0x1f, 0x77, 0xb4), rgb(0x8c, 0x56, 0x4b), rgb(0xe3, 0x77, 0xc2), rgb(0xbc, 0xbd, 0x22), rgb(0x17, 0xbe, 0xcf),
}

func rgb(r, g, b uint8) color.Color { return color.RGBA{R: r, G: g, B: b, A: 0xff} }

// colorsFor assigns a colour to each code in order.
func colorsFor(codes []string) map[string]color.Color {
	out := map[string]color.Color{}
	next := 0
	for _, c := range codes {
		if col, ok := codeColors[c]; ok {
			out[c] = col
			continue
		}
		out[c] = otherColors[next%len(otherColors)]
		next++
	}
	return out
}

// newPlot returns a plot with the report's font and a grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	setFont := func(f *font.Font, size vg.Length) {
		*f = sans
		f.Size = size
	}
	setFont(&p.Title.TextStyle.Font, 13)
	setFont(&p.X.Label.TextStyle.Font, 11)
	setFont(&p.Y.Label.TextStyle.Font, 11)
	setFont(&p.X.Tick.Label.Font, 9)
	setFont(&p.Y.Tick.Label.Font, 9)
	setFont(&p.Legend.TextStyle.Font, 10)
	p.Legend.Top = true
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// ("250", not "250.00").
type plainTicks struct{}

var _ plot.Ticker = plainTicks{}

// Ticks returns the default ticks with plain labels.
func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}

// headroom leaves space above the data for the legend, which sits inside
// the plot's top right corner.
func headroom(a *plot.Axis, top float64) {
	a.Min = 0
	a.Max = math.Max(top, 1) * 1.35
}

// latencyAxis puts latencies (in ms) on a log scale padded to whole decades,
// so there is always a labelled tick, with labels in human units.
func latencyAxis(a *plot.Axis, lo, hi float64) {
	lo = math.Pow(10, math.Floor(math.Log10(math.Max(lo, 0.001))))
	hi = math.Pow(10, math.Ceil(math.Log10(math.Max(hi, 0.001))))
	if hi <= lo {
		hi = lo * 10
	}
	a.Min, a.Max = lo, hi
	a.Scale = plot.LogScale{}
	a.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ticks []plot.Tick
		for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
			d := math.Pow(10, e)
			for m := 1.0; m < 10; m++ {
				v := m * d
				if v < min*0.999 || v > max*1.001 {
					continue
				}
				t := plot.Tick{Value: v}
				if m == 1 {
					t.Label = decadeLabel(v)
				}
				ticks = append(ticks, t)
			}
		}
		return ticks
	})
}

// decadeLabel names a power of ten of milliseconds: "1µs", "10ms", "1s".
func decadeLabel(ms float64) string {
	d := time.Duration(math.Round(ms * float64(time.Millisecond)))
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	case d < time.Second:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// noData turns p into an empty frame that says so, instead of failing on
// axes with no range (a run in which nothing completed still gets a page).
func noData(p *plot.Plot) {
	p.Title.Text += " (no calls completed)"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// minPlotCover is the least of a clock second the window must cover for
// its rates to be drawn: a sliver at either end holds a handful of calls,
// and dividing them by a few milliseconds draws a spike (or, counted as a
// whole second, a ramp) that never happened.
const minPlotCover = 250 * time.Millisecond

// secondX places second s on a plot's time axis: the middle of the part of
// it the window covers, in seconds since the window's start.
func secondX(r *Result, s Second) float64 {
	origin := r.Run.Start
	if origin.IsZero() && len(r.Timeline) > 0 {
		origin = time.Unix(r.Timeline[0].Unix, 0)
	}
	from := time.Unix(s.Unix, 0)
	if from.Before(origin) {
		from = origin
	}
	return from.Sub(origin).Seconds() + s.Covered.Seconds()/2
}

// rateSeconds returns the seconds whose rates are drawn: those covering at
// least minPlotCover, or, in a run too short to have one, every second
// that covers any time.
func rateSeconds(tl []Second) []Second {
	var out []Second
	for _, s := range tl {
		if s.Covered >= minPlotCover {
			out = append(out, s)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, s := range tl {
		if s.Covered > 0 {
			out = append(out, s)
		}
	}
	return out
}

// percentilePlot draws p50, p90, p99 and max of the calls completed in each
// second, at the middle of the time the second covers. Seconds without
// completions break the lines: a stall is a gap.
func percentilePlot(r *Result) (*plot.Plot, error) {
	p := newPlot("Latency percentiles per second", "seconds since start", "latency (log scale)")
	series := []struct {
		name string
		get  func(Second) time.Duration
		col  color.Color
	}{
		{"p50", func(s Second) time.Duration { return s.P50 }, rgb(0x1f, 0x77, 0xb4)},
		{"p90", func(s Second) time.Duration { return s.P90 }, rgb(0x2c, 0xa0, 0x2c)},
		{"p99", func(s Second) time.Duration { return s.P99 }, rgb(0xff, 0x7f, 0x0e)},
		{"max", func(s Second) time.Duration { return s.Max }, rgb(0xd6, 0x27, 0x28)},
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range r.Timeline {
		if s.Completed > 0 {
			lo, hi = math.Min(lo, ms(s.P50)), math.Max(hi, ms(s.Max))
		}
	}
	if math.IsInf(lo, 0) {
		noData(p)
		return p, nil
	}
	for _, ser := range series {
		var seg plotter.XYs
		first := true
		flush := func() error {
			if len(seg) == 0 {
				return nil
			}
			l, err := plotter.NewLine(seg)
			if err != nil {
				return err
			}
			l.Color = ser.col
			l.Width = vg.Points(1.5)
			p.Add(l)
			if len(seg) == 1 {
				// A lone second draws no line; show it as a dot.
				sc, err := plotter.NewScatter(seg)
				if err != nil {
					return err
				}
				sc.Color = ser.col
				sc.Radius = vg.Points(2)
				p.Add(sc)
			}
			if first {
				p.Legend.Add(ser.name, l)
				first = false
			}
			seg = nil
			return nil
		}
		for _, s := range r.Timeline {
			if s.Completed == 0 {
				if err := flush(); err != nil {
					return nil, err
				}
				continue
			}
			seg = append(seg, plotter.XY{X: secondX(r, s), Y: math.Max(ms(ser.get(s)), 0.001)})
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	latencyAxis(&p.Y, lo, hi)
	return p, nil
}

// codesPlot draws the rates of calls sent and of calls completed by code:
// each second's counts divided by the time it covers, so the window's
// partial first and last seconds draw no ramp.
func codesPlot(r *Result) (*plot.Plot, error) {
	p := newPlot("Calls per second by code", "seconds since start", "calls per second")
	tl := rateSeconds(r.Timeline)
	if len(tl) == 0 {
		noData(p)
		return p, nil
	}
	l, err := plotter.NewLine(rateXYs(r, tl, func(s Second) int64 { return s.Sent }))
	if err != nil {
		return nil, err
	}
	l.Color = rgb(0x33, 0x33, 0x33)
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l)
	p.Legend.Add("sent", l)
	top := 0.0
	for _, s := range tl {
		top = math.Max(top, s.Rate(max(s.Sent, s.Completed)))
	}
	codes := r.codeNames()
	cols := colorsFor(codes)
	for _, code := range codes {
		l, err := plotter.NewLine(rateXYs(r, tl, func(s Second) int64 { return s.Codes[code] }))
		if err != nil {
			return nil, err
		}
		l.Color = cols[code]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(code, l)
	}
	headroom(&p.Y, top)
	return p, nil
}

// rateXYs places the rate of count in each of the seconds tl.
func rateXYs(r *Result, tl []Second, count func(Second) int64) plotter.XYs {
	xy := make(plotter.XYs, len(tl))
	for i, s := range tl {
		xy[i] = plotter.XY{X: secondX(r, s), Y: s.Rate(count(s))}
	}
	return xy
}

// binsPerDecade sets the resolution of the distribution plot.
const binsPerDecade = 10

// distributionPlot draws, for each code, how its calls spread over latency:
// the share of the code's calls in each of ten bins per decade.
func distributionPlot(r *Result) (*plot.Plot, error) {
	p := newPlot("Latency distribution by code", "latency (log scale)", "share of the code's calls (%)")
	codes := r.codeNames()
	cols := colorsFor(codes)
	lo, hi, top := math.Inf(1), math.Inf(-1), 0.0
	for _, code := range codes {
		h := r.LatencyByCode[code]
		if h.Count() == 0 {
			continue
		}
		bins := map[int]int64{}
		minBin, maxBin := math.MaxInt, math.MinInt
		for _, b := range h.buckets() {
			mid := math.Max(float64(b.from+b.to)/2, 1) // µs
			k := int(math.Floor(math.Log10(mid) * binsPerDecade))
			bins[k] += b.count
			minBin, maxBin = min(minBin, k), max(maxBin, k)
		}
		var xy plotter.XYs
		for k := minBin; k <= maxBin; k++ {
			share := float64(bins[k]) / float64(h.Count()) * 100
			from := math.Pow(10, float64(k)/binsPerDecade) / 1000 // ms
			to := math.Pow(10, float64(k+1)/binsPerDecade) / 1000
			xy = append(xy, plotter.XY{X: from, Y: share}, plotter.XY{X: to, Y: share})
			lo, hi, top = math.Min(lo, from), math.Max(hi, to), math.Max(top, share)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = cols[code]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(code, l)
	}
	if math.IsInf(lo, 0) {
		noData(p)
		return p, nil
	}
	latencyAxis(&p.X, lo, hi)
	headroom(&p.Y, top)
	// The headroom may reach past 100 %, which no share does: no label there.
	p.Y.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		ticks := plainTicks{}.Ticks(min, max)
		for i := range ticks {
			if ticks[i].Value > 100 {
				ticks[i].Label = ""
			}
		}
		return ticks
	})
	return p, nil
}

var (
	svgProlog = regexp.MustCompile(`(?s)^.*?<svg`)
	// The plots hold no images or links, so the xlink namespace is unused.
	svgXlink = regexp.MustCompile(`\s*xmlns:xlink="[^"]*"`)
	svgFonts = regexp.MustCompile(`font-family:Liberation Sans;`)
)

// svg draws p as an SVG fragment for inlining in HTML: without the XML
// prolog, with generic font fallbacks and with a title for screen readers.
func svg(p *plot.Plot, title string) (string, error) {
	c := vgsvg.New(plotWidth, plotHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := svgProlog.ReplaceAllString(b.String(), "<svg")
	s = svgXlink.ReplaceAllString(s, "")
	s = svgFonts.ReplaceAllString(s, "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;")
	s = strings.Replace(s, ">", ` role="img"><title>`+htmlEscaper.Replace(title)+`</title>`, 1)
	return s, nil
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")
