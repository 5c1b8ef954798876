package diagnosis

import (
	"strings"
)

// The target's message may echo a token, whole or in part, and a summary
// must carry neither. Text is cut into runs of base64url characters (a
// token's segments; dots split them), and a run is replaced when it could be
// a token's: it shares gram characters with a token sent, it is too long to
// be a word, or it opens like a JSON object in base64url ("eyJ"). A token
// sent that is not base64url at all is replaced wherever it appears whole.

const (
	// gram is the shortest shared run that counts as an echo: shorter runs
	// ("Bearer", a kid) occur in ordinary text.
	gram = 12
	// longRun is a run no word or identifier reaches: replaced whatever it is.
	longRun = 48
	// maxMessage bounds the message read, in bytes.
	maxMessage = 4 << 10
	// maxQuotedMessage bounds the message quoted in a summary, in runes.
	maxQuotedMessage = 160
	// redacted stands in for what was removed.
	redacted = "[redacted]"
)

// redactor removes every part of the tokens sent from text.
type redactor struct {
	tokens []string
}

func newRedactor(tokens ...string) *redactor {
	r := &redactor{}
	for _, t := range tokens {
		if t != "" {
			r.tokens = append(r.tokens, t)
		}
	}
	return r
}

// text returns s with every run that could be a token's replaced.
func (r *redactor) text(s string) string {
	for _, t := range r.tokens {
		if len(t) >= 8 {
			s = strings.ReplaceAll(s, t, redacted)
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !b64url(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && b64url(s[j]) {
			j++
		}
		if run := s[i:j]; r.echo(run) {
			b.WriteString(redacted)
		} else {
			b.WriteString(run)
		}
		i = j
	}
	return b.String()
}

// echo reports whether run could be part of a token.
func (r *redactor) echo(run string) bool {
	switch {
	case len(run) >= longRun:
		return true
	case len(run) < gram:
		return false
	case strings.HasPrefix(run, "eyJ"):
		return true
	}
	for i := 0; i+gram <= len(run); i++ {
		for _, t := range r.tokens {
			if strings.Contains(t, run[i:i+gram]) {
				return true
			}
		}
	}
	return false
}

// message is the target's message fit to quote: capped, redacted, on one line, cut short.
func (r *redactor) message(msg string) string {
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "")
	}
	return cut(oneLine(r.text(msg)), maxQuotedMessage)
}

func b64url(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Redact returns text with every part of tokens, and every run that looks
// like a token, replaced: for a service's message quoted anywhere else.
func Redact(text string, tokens ...string) string { return newRedactor(tokens...).text(text) }
