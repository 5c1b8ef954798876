package reports

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// quantiles are the percentiles every renderer shows, with their labels.
var quantiles = []struct {
	label string
	p     float64
}{
	{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99},
}

// fmtLatency writes a latency with three significant digits and a unit a
// person reads at a glance ("812µs", "1.20ms", "2.01s").
func fmtLatency(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	switch {
	case d <= 0:
		return "0"
	case us < 1000:
		return strconv.FormatFloat(us, 'f', 0, 64) + "µs"
	case us < 10_000:
		return fmt.Sprintf("%.2fms", us/1e3)
	case us < 100_000:
		return fmt.Sprintf("%.1fms", us/1e3)
	case us < 1_000_000:
		return fmt.Sprintf("%.0fms", us/1e3)
	case us < 10_000_000:
		return fmt.Sprintf("%.2fs", us/1e6)
	default:
		return fmt.Sprintf("%.1fs", us/1e6)
	}
}

// fmtShare writes a fraction as a percentage with two decimals.
func fmtShare(f float64) string {
	return fmt.Sprintf("%.2f%%", f*100)
}

// fmtRate writes calls per second.
func fmtRate(f float64) string {
	return strconv.FormatFloat(f, 'f', 1, 64) + "/s"
}

// fmtTime writes a time in RFC 3339, or "-" when unset.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// loadLine describes how the load was generated, in words.
func loadLine(run Run) string {
	var parts []string
	switch run.Mode {
	case OpenLoop:
		s := "open loop"
		if run.Rate > 0 {
			s += " at " + strconv.FormatFloat(run.Rate, 'f', -1, 64) + "/s"
		}
		parts = append(parts, s)
	case ClosedLoop:
		s := "closed loop"
		if run.Concurrency > 0 {
			s += fmt.Sprintf(" with %d concurrent callers", run.Concurrency)
		}
		parts = append(parts, s)
	default:
		parts = append(parts, "load mode not recorded")
	}
	if run.Pacer != "" {
		parts = append(parts, run.Pacer)
	}
	if run.Connections > 0 {
		parts = append(parts, fmt.Sprintf("%d connections", run.Connections))
	}
	parts = append(parts, fmt.Sprintf("seed %d", run.Seed))
	return strings.Join(parts, ", ")
}

// windowLine describes the measured window, in words.
func windowLine(run Run) string {
	s := fmt.Sprintf("%s for %s", fmtTime(run.Start), time.Duration(run.Duration).Round(time.Millisecond))
	if run.WarmUp > 0 || run.WarmUpCalls > 0 {
		s += fmt.Sprintf(" (after a %s warm-up of %d calls, left out)", time.Duration(run.WarmUp), run.WarmUpCalls)
	}
	return s
}

// align says how a table column is aligned.
type align int

const (
	left align = iota
	right
)

// table is a plain-text table with aligned columns.
type table struct {
	head  []string
	align []align
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write writes the table with two spaces between columns and no trailing blanks.
func (t *table) write(b *strings.Builder) {
	widths := make([]int, len(t.head))
	for _, row := range append([][]string{t.head}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range append([][]string{t.head}, t.rows...) {
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if t.align[i] == right {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}
