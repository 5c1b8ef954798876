package load

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/cwriter"
	"github.com/vbauerster/mpb/v8/decor"
)

// progressEvery is how often the bar is brought up to date.
const progressEvery = 200 * time.Millisecond

// Interactive reports whether w is a terminal someone watches: not a pipe,
// not a file, and not a CI job (CI set), where a redrawn bar is only noise
// (StartProgressLog writes lines there instead).
func Interactive(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("CI") != "" {
		return false
	}
	return cwriter.New(f).IsTerminal()
}

// Progress draws a live bar for a run: elapsed time, the recent rate and
// the calls so far by code.
type Progress struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	gen  *Generator
	stop chan struct{}
	done sync.WaitGroup

	// Owned by the goroutine that refreshes: update, then Stop.
	prevDone, warmDone int64
	prevAt             time.Time
	rate               float64

	mu   sync.Mutex
	line string // the decorations, rebuilt at each refresh
}

// StartProgress draws g's progress on w until Stop, when w is
// Interactive; otherwise it draws nothing and returns nil, whose Stop does
// nothing. The bar fills with time for a run of a set duration, with calls
// for a run of a set number of calls.
func StartProgress(w io.Writer, g *Generator) *Progress {
	if !Interactive(w) {
		return nil
	}
	return startProgress(w, g)
}

// startProgress draws on w whatever it is; tests use it to see a bar.
func startProgress(w io.Writer, g *Generator) *Progress {
	pr := &Progress{gen: g, stop: make(chan struct{}), prevAt: time.Now()}
	pr.p = mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(progressEvery), mpb.WithAutoRefresh())
	pr.bar = pr.p.AddBar(pr.total(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return pr.phase() }, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return pr.text() })),
		mpb.BarFillerClearOnComplete(),
	)
	pr.done.Add(1)
	go pr.update()
	return pr
}

// total is the bar's length: milliseconds of the run or its number of calls.
func (pr *Progress) total() int64 {
	o := pr.gen.opts
	if o.Duration > 0 {
		return (o.WarmUp + o.Duration).Milliseconds()
	}
	return int64(o.Calls)
}

func (pr *Progress) phase() string {
	if pr.gen.Stats().WarmingUp {
		return "warm-up"
	}
	return "load"
}

func (pr *Progress) text() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.line
}

// update moves the bar until Stop.
func (pr *Progress) update() {
	defer pr.done.Done()
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		pr.refresh()
		select {
		case <-pr.stop:
			return
		case <-t.C:
		}
	}
}

// refresh brings the bar and its text up to date with the generator.
func (pr *Progress) refresh() {
	s := pr.gen.Stats()
	now := time.Now()
	// The rate over the last second or so; until a second has passed, the average so far.
	if dt := now.Sub(pr.prevAt).Seconds(); dt >= 1 {
		pr.rate = float64(s.Done-pr.prevDone) / dt
		pr.prevDone, pr.prevAt = s.Done, now
	} else if pr.prevDone == 0 && s.Elapsed > 0 {
		pr.rate = float64(s.Done) / s.Elapsed.Seconds()
	}
	if s.WarmingUp {
		pr.warmDone = s.Done
	}
	pr.mu.Lock()
	pr.line = progressLine(s, pr.rate)
	pr.mu.Unlock()
	if pr.gen.opts.Duration > 0 {
		pr.bar.SetCurrent(min(s.Elapsed.Milliseconds(), pr.total()))
	} else {
		pr.bar.SetCurrent(min(max(s.Done-pr.warmDone, 0), pr.total()))
	}
}

// progressLine writes "12s  987.0/s  in flight 3  OK 11845  PERMISSION_DENIED 12".
func progressLine(s Stats, rate float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %.1f/s  in flight %d", s.Elapsed.Truncate(time.Second), rate, max(s.Sent-s.Done-s.Abandoned, 0))
	names := make([]string, 0, len(s.Codes))
	for name := range s.Codes {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if (a == "OK") != (b == "OK") {
			if a == "OK" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		fmt.Fprintf(&b, "  %s %d", name, s.Codes[name])
	}
	return b.String()
}

// Stop draws the final figures and stops. It is safe on a nil Progress.
func (pr *Progress) Stop() {
	if pr == nil {
		return
	}
	close(pr.stop)
	pr.done.Wait()
	pr.refresh()
	// Abort, not completion: a bar with a total completes only when full,
	// and an interrupted run never fills it. false keeps the last line shown.
	pr.bar.Abort(false)
	pr.p.Wait()
}
