package zoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting a token's JSON may have.
const maxJSONDepth = 32

// strictness says which JSON tricks a decoder refuses. The correct builds
// refuse both; a buggy build leaves one out.
type strictness struct {
	// duplicates refuses an object with the same key twice, at any depth
	// (encoding/json would keep the last one).
	duplicates bool
	// caseVariants refuses a top-level key that differs from a known name
	// only in case (encoding/json would decode "EXP" into exp).
	caseVariants bool
}

// strict refuses every trick.
var strict = strictness{duplicates: true, caseVariants: true}

// strictnessFor is the strictness of bug's build.
func strictnessFor(bug Bug) strictness {
	return strictness{duplicates: bug != DuplicateKeys, caseVariants: bug != CaseInsensitiveClaims}
}

// checkJSONObject refuses data unless it is exactly one JSON object in valid
// UTF-8 that passes s; known are the top-level names whose case variants s
// may refuse.
func checkJSONObject(data []byte, known []string, s strictness) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return errors.New("not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	w := walker{dec: dec, known: known, s: s}
	if err := w.object(1, true); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// walker checks one JSON document token by token.
type walker struct {
	dec   *json.Decoder
	known []string
	s     strictness
}

// object checks the members of an object whose '{' was read.
func (w walker) object(depth int, top bool) error {
	seen := make(map[string]bool)
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return errors.New("not JSON")
		}
		key, ok := tok.(string)
		if !ok {
			return errors.New("not JSON")
		}
		if w.s.duplicates && seen[key] {
			return errors.New("duplicate key " + quoteName(key))
		}
		seen[key] = true
		if top && w.s.caseVariants {
			for _, k := range w.known {
				if key != k && strings.EqualFold(key, k) {
					return errors.New("claim " + quoteName(key) + " differs from " + k + " only in case")
				}
			}
		}
		if err := w.value(depth); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil { // '}'
		return errors.New("not JSON")
	}
	return nil
}

// value checks the next value.
func (w walker) value(depth int) error {
	if depth >= maxJSONDepth {
		return errors.New("JSON nested too deeply")
	}
	tok, err := w.dec.Token()
	if err != nil {
		return errors.New("not JSON")
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if d == '{' {
		return w.object(depth+1, false)
	}
	for w.dec.More() { // '['
		if err := w.value(depth + 1); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil { // ']'
		return errors.New("not JSON")
	}
	return nil
}

// quoteName quotes a JSON key for a message, cut short: keys come from the
// token, and a message must not carry much of it.
func quoteName(s string) string {
	const max = 16
	if len(s) > max {
		s = s[:max] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
