package conformance

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// A token part shorter than this is too common to call an echo (an empty
// signature, a short header); longer ones are unique to the token.
const minEchoLen = 12

// maxExcerpt bounds the message kept for a report, in characters.
const maxExcerpt = 200

// jwtLike matches anything shaped like a compact JWS, sent by the suite or not.
var jwtLike = regexp.MustCompile(`[A-Za-z0-9_=-]{8,}\.[A-Za-z0-9_=-]{8,}\.[A-Za-z0-9_=-]*`)

// tokenParts returns what of tok must never come back: the token itself and
// its payload and signature segments, where long enough to be its own.
func tokenParts(tok string) []string {
	var out []string
	if len(tok) >= minEchoLen {
		out = append(out, tok)
	}
	segs := strings.Split(tok, ".")
	if len(segs) == 3 {
		for _, s := range segs[1:] {
			if len(s) >= minEchoLen {
				out = append(out, s)
			}
		}
	}
	return out
}

// echoed reports whether any text of an answer holds a part of a token sent.
func echoed(texts, sent []string) bool {
	for _, tok := range sent {
		for _, part := range tokenParts(tok) {
			for _, text := range texts {
				if strings.Contains(text, part) {
					return true
				}
			}
		}
	}
	return false
}

// excerpt is msg fit for a report: every part of a token sent and anything
// JWT-shaped replaced by "[token]", cut to maxExcerpt characters.
func excerpt(msg string, sent []string) string {
	for _, tok := range sent {
		for _, part := range tokenParts(tok) {
			msg = strings.ReplaceAll(msg, part, "[token]")
		}
	}
	msg = jwtLike.ReplaceAllString(msg, "[token]")
	msg = strings.Join(strings.Fields(msg), " ")
	if utf8.RuneCountInString(msg) > maxExcerpt {
		msg = string([]rune(msg)[:maxExcerpt-1]) + "…"
	}
	return msg
}
