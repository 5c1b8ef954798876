package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// MaxExplainBytes caps a rendered explanation. An explanation is a
// template from a file: what it prints must not be able to exhaust memory,
// and a real one is a few hundred bytes.
const MaxExplainBytes = 64 << 10

// explainTimeout bounds the rendering of an explanation; a real one takes
// microseconds.
const explainTimeout = time.Second

// noDeadline is the deadline of a template that is parsed, not run.
var noDeadline time.Time

var (
	errExplainTooLarge = fmt.Errorf("the explanation is larger than %d KiB, its size limit", MaxExplainBytes>>10)
	errExplainTooSlow  = fmt.Errorf("rendering the explanation took longer than %v", explainTimeout)
)

// explainFuncs replaces the template functions that can build a large
// string on their own (print, printf, println: "%0999999d" is a megabyte)
// with ones that fail past MaxExplainBytes or the deadline, so that even
// output a template never writes is bounded.
func explainFuncs(deadline time.Time) template.FuncMap {
	check := func(s string) (string, error) {
		if err := explainBounds(len(s), deadline); err != nil {
			return "", err
		}
		return s, nil
	}
	return template.FuncMap{
		"print":   func(a ...any) (string, error) { return check(fmt.Sprint(a...)) },
		"printf":  func(format string, a ...any) (string, error) { return check(fmt.Sprintf(format, a...)) },
		"println": func(a ...any) (string, error) { return check(fmt.Sprintln(a...)) },
	}
}

// explainBounds refuses n bytes past the cap, or any work past the deadline.
func explainBounds(n int, deadline time.Time) error {
	switch {
	case n > MaxExplainBytes:
		return errExplainTooLarge
	case !deadline.IsZero() && time.Now().After(deadline):
		return errExplainTooSlow
	}
	return nil
}

// cappedWriter collects an explanation, failing the rendering once it
// would grow past MaxExplainBytes or run past the deadline.
type cappedWriter struct {
	b        strings.Builder
	deadline time.Time
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if err := explainBounds(w.b.Len()+len(p), w.deadline); err != nil {
		return 0, err
	}
	return w.b.Write(p)
}

// RenderExplain fills the scenario's explanation with f; an empty
// explanation renders as "". The template is checked as the loader checks
// it (a scenario built in Go was never loaded), and its rendering is
// bounded: at most MaxExplainBytes, within a second.
func (s *Scenario) RenderExplain(f Figures) (string, error) {
	if s.Explain == "" {
		return "", nil
	}
	deadline := time.Now().Add(explainTimeout)
	t, err := parseExplain(s.Explain, explainFuncs(deadline), func(line, col int, msg string) error {
		return fmt.Errorf("%s (line %d, column %d)", strings.TrimPrefix(msg, "explain template: "), line, col)
	})
	if err != nil {
		return "", err
	}
	w := &cappedWriter{deadline: deadline}
	if err := t.Execute(w, f); err != nil {
		// The bounds' own words, not text/template's wrapping of them.
		for _, bound := range []error{errExplainTooLarge, errExplainTooSlow} {
			if errors.Is(err, bound) || strings.Contains(err.Error(), bound.Error()) {
				return "", bound
			}
		}
		return "", err
	}
	return w.b.String(), nil
}
