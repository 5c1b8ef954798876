package conformance

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jitbench/jitbench/reference/filecap"
)

// ErrKnownFailing is wrapped by the errors of a known-failing list that cannot be read.
var ErrKnownFailing = errors.New("bad known-failing list")

// KnownFailing is the list of cases a target is known to fail: a listed
// case that fails is reported as known failing and does not fail the run;
// a listed case that passes fails the run until it comes off the list.
type KnownFailing struct {
	// File names the list in messages.
	File string
	// at records where each id is listed, and the comment beside it.
	at map[string]listed
}

// listed is one line of a known-failing list.
type listed struct {
	line int
	note string
}

// LoadKnownFailing reads a known-failing list from path; see ParseKnownFailing.
func LoadKnownFailing(path string) (*KnownFailing, error) {
	data, err := filecap.ReadFile(path, filecap.KnownFailing)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKnownFailing, err)
	}
	return ParseKnownFailing(path, bytes.NewReader(data))
}

// ParseKnownFailing reads a known-failing list: one case id per line;
// blank lines and everything after a '#' are ignored, and a comment beside
// an id is kept as its note. An id the catalog does not have, or one
// listed twice, is an error naming file:line.
func ParseKnownFailing(file string, r io.Reader) (*KnownFailing, error) {
	k := &KnownFailing{File: file, at: make(map[string]listed)}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		text, note, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		switch {
		case len(fields) == 0:
			continue
		case len(fields) > 1:
			return nil, fmt.Errorf("%w: %s:%d: one case id per line, got %q", ErrKnownFailing, file, n, strings.TrimSpace(text))
		}
		if err := k.add(fields[0], listed{line: n, note: strings.TrimSpace(note)}); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", ErrKnownFailing, file, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKnownFailing, file, err)
	}
	return k, nil
}

// NewKnownFailing returns a list of ids, for the Go API; an id the catalog does not have is an error.
func NewKnownFailing(ids ...string) (*KnownFailing, error) {
	k := &KnownFailing{File: "the known-failing list", at: make(map[string]listed)}
	for i, id := range ids {
		if err := k.add(id, listed{line: i + 1}); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKnownFailing, err)
		}
	}
	return k, nil
}

func (k *KnownFailing) add(id string, l listed) error {
	id = strings.ToUpper(id)
	if !slices.Contains(IDs(), id) {
		return fmt.Errorf("unknown case id %q (jitbench conformance --list shows the catalog)", id)
	}
	if first, dup := k.at[id]; dup {
		return fmt.Errorf("%s is listed twice (first at line %d)", id, first.line)
	}
	k.at[id] = l
	return nil
}

// Has reports whether id is on the list.
func (k *KnownFailing) Has(id string) bool {
	if k == nil {
		return false
	}
	_, ok := k.at[id]
	return ok
}

// IDs returns the listed ids, in catalog order.
func (k *KnownFailing) IDs() []string {
	var out []string
	for _, id := range IDs() {
		if k.Has(id) {
			out = append(out, id)
		}
	}
	return out
}

// where names id's line in the list, with its note: "known.txt:3 (waiting on #12)".
func (k *KnownFailing) where(id string) string {
	l := k.at[id]
	s := fmt.Sprintf("%s:%d", k.File, l.line)
	if l.note != "" {
		s += " (" + l.note + ")"
	}
	return s
}
