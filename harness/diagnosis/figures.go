package diagnosis

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// dur writes a duration for a summary: whole seconds from 10 s, else to the
// millisecond or 10 ms, so figures read "4s", "4m59s", "1.25s", "250ms".
func dur(d time.Duration) string {
	if d < 0 {
		return "-" + dur(-d)
	}
	switch {
	case d >= 10*time.Second:
		d = d.Round(time.Second)
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	default:
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// signed writes an offset with its sign: "+2s", "-1m30s".
func signed(d time.Duration) string {
	if d < 0 {
		return dur(d)
	}
	return "+" + dur(d)
}

// rel writes t against now: "in 4m59s", "4s ago", "now".
func rel(t, now time.Time) string {
	switch d := t.Sub(now); {
	case d > 0:
		return "in " + dur(d)
	case d < 0:
		return dur(-d) + " ago"
	}
	return "now"
}

// stamp writes an instant as the tokens carry it, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// maxQuoted bounds a value from a token or the target quoted in a summary.
const maxQuoted = 64

// quote writes an untrusted value (a claim, a kid) quoted, escaped and cut short.
func quote(s string) string { return strconv.Quote(cut(s, maxQuoted)) }

// cut shortens s to at most n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// oneLine makes untrusted text fit one line of a summary: invalid UTF-8 and
// control characters become spaces, runs of space one.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// list joins words: "a", "a and b", "a, b and c".
func list(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// count writes n nouns: "1 dot", "3 dots".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
