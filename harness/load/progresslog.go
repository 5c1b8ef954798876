package load

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// DefaultLogEvery is how often a ProgressLog writes a line: rare enough
// for a CI log, often enough that a long run is visibly alive.
const DefaultLogEvery = 5 * time.Second

// ProgressLog writes one line about a run every so often, for where there
// is no terminal to draw a bar on (a pipe, a file, a CI job's log). A run
// shorter than one interval writes nothing.
type ProgressLog struct {
	w     io.Writer
	gen   *Generator
	every time.Duration
	clock clockwork.Clock
	stop  chan struct{}
	ended chan struct{}
	once  sync.Once

	// Owned by the logging goroutine.
	prevDone, warmDone int64
}

// StartProgressLog writes g's progress to w every interval (zero means
// DefaultLogEvery) on clock (nil means the real clock) until Stop.
func StartProgressLog(w io.Writer, g *Generator, every time.Duration, clock clockwork.Clock) *ProgressLog {
	if every <= 0 {
		every = DefaultLogEvery
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	l := &ProgressLog{w: w, gen: g, every: every, clock: clock, stop: make(chan struct{}), ended: make(chan struct{})}
	go l.loop()
	return l
}

// Stop ends the log and waits for its goroutine; safe on nil and twice.
func (l *ProgressLog) Stop() {
	if l == nil {
		return
	}
	l.once.Do(func() { close(l.stop) })
	<-l.ended
}

func (l *ProgressLog) loop() {
	defer close(l.ended)
	ticker := l.clock.NewTicker(l.every)
	defer ticker.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.Chan():
		}
		s := l.gen.Stats()
		if s.WarmingUp {
			l.warmDone = s.Done
		}
		rate := float64(s.Done-l.prevDone) / l.every.Seconds()
		l.prevDone = s.Done
		fmt.Fprintln(l.w, logLine(s, rate, l.gen.opts, l.warmDone))
	}
}

// logLine writes "jitbench: load 10s of 30s  98.0/s  in flight 3  OK 980",
// the bar's figures with how far the run has come.
func logLine(s Stats, rate float64, o Options, warmDone int64) string {
	phase := "load"
	if s.WarmingUp {
		phase = "warm-up"
	}
	var of string
	switch {
	case o.Duration > 0:
		of = fmt.Sprintf(" of %s", o.WarmUp+o.Duration)
	case o.Calls > 0 && !s.WarmingUp:
		of = fmt.Sprintf(" (%d of %d calls)", max(s.Done-warmDone, 0), o.Calls)
	}
	line := progressLine(s, rate)
	elapsed := s.Elapsed.Truncate(time.Second).String()
	return "jitbench: " + phase + " " + elapsed + of + line[len(elapsed):]
}
