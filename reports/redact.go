package reports

import (
	"strings"
	"unicode/utf8"
)

// MaxMessageRunes bounds a kept status message: longer ones are cut there
// and end with "…", so a server that sends a page of text costs a line.
const MaxMessageRunes = 200

// Redacted replaces a credential found in a status message.
const Redacted = "[redacted]"

// CleanMessage returns msg as a report keeps it: anything that looks like a
// JWT (three base64url segments, or two when one starts as a JSON object
// does, "eyJ") and the value after "Bearer " replaced by Redacted, control
// characters and invalid UTF-8 replaced, surrounding blanks trimmed, and at
// most MaxMessageRunes runes. Cleaning a clean message changes nothing.
func CleanMessage(msg string) string {
	out := redact(msg)
	out = strings.TrimSpace(out)
	if utf8.RuneCountInString(out) > MaxMessageRunes {
		n := 0
		for i := range out {
			if n == MaxMessageRunes {
				out = strings.TrimRight(out[:i], " ") + "…"
				break
			}
			n++
		}
	}
	return out
}

// redact does the replacing part of CleanMessage in one pass; it returns msg
// itself, without allocating, when nothing needs replacing.
func redact(msg string) string {
	var b *strings.Builder
	flushed := 0 // msg[:flushed] is in b already
	emit := func(from, to int, with string) {
		if b == nil {
			b = &strings.Builder{}
			b.Grow(len(msg))
		}
		b.WriteString(msg[flushed:from])
		b.WriteString(with)
		flushed = to
	}
	for i := 0; i < len(msg); {
		c := msg[i]
		switch {
		case tokenByte(c):
			j := i
			for j < len(msg) && tokenByte(msg[j]) {
				j++
			}
			word := msg[i:j]
			if looksLikeJWT(word) {
				emit(i, j, Redacted)
			} else if strings.EqualFold(word, "bearer") {
				// "Bearer <value>": whatever the value is, it is a credential.
				k := j
				for k < len(msg) && (msg[k] == ' ' || msg[k] == '\t') {
					k++
				}
				v := k
				for v < len(msg) && !valueEnd(msg[v]) {
					v++
				}
				if strings.HasPrefix(msg[k:], Redacted) {
					v = k // already redacted: cleaning twice changes nothing
				}
				if k > j && v > k {
					emit(k, v, Redacted)
					j = v
				}
			}
			i = j
		case c < 0x20 || c == 0x7f:
			emit(i, i+1, " ")
			i++
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(msg[i:])
			if r == utf8.RuneError && size == 1 {
				emit(i, i+1, "\uFFFD")
			}
			i += size
		}
	}
	if b == nil {
		return msg
	}
	b.WriteString(msg[flushed:])
	return b.String()
}

// tokenByte reports whether c may be part of a JWT: base64url or a dot.
func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// valueEnd reports whether c ends a Bearer value: a blank, a quote or a separator.
func valueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '"', '\'', '`', ',', ';', ')', ']', '}', '>':
		return true
	}
	return c < 0x20 || c == 0x7f
}

// minSegment is the length from which a base64url segment looks like a
// token's part rather than a word: a JWT's header is at least 20 characters
// and its signature 43, while dotted names ("demo.v1.Vault") have short parts.
const minSegment = 16

// looksLikeJWT reports whether a run of base64url characters and dots is a
// token: three or more segments, the first two non-empty, with one segment
// starting "eyJ" (base64url of `{"`) or two of at least minSegment
// characters; or two segments, one starting "eyJ" and that long, which is a
// token cut short.
func looksLikeJWT(word string) bool {
	dots := strings.Count(word, ".")
	if dots == 0 {
		return false
	}
	segs := strings.Split(word, ".")
	long, json := 0, false
	for _, s := range segs {
		if len(s) >= minSegment {
			long++
		}
		if strings.HasPrefix(s, "eyJ") && len(s) >= minSegment {
			json = true
		}
	}
	if dots == 1 {
		return json
	}
	if segs[0] == "" || segs[1] == "" {
		return false
	}
	return json || long >= 2
}
