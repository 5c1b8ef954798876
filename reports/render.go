package reports

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Renderer writes a result in one format.
type Renderer interface {
	// Render writes r to w.
	Render(w io.Writer, r *Result) error
}

// RendererFunc adapts a function to a Renderer.
type RendererFunc func(w io.Writer, r *Result) error

var _ Renderer = RendererFunc(nil)

// Render calls f(w, r).
func (f RendererFunc) Render(w io.Writer, r *Result) error { return f(w, r) }

// renderers are the formats Render knows, by the name the CLI takes.
var renderers = map[string]Renderer{
	"text":  RendererFunc(WriteText),
	"md":    RendererFunc(WriteMarkdown),
	"junit": RendererFunc(WriteJUnit),
	"html":  RendererFunc(WriteHTML),
	"prom":  RendererFunc(WritePrometheus),
	"json":  RendererFunc(Write),
}

// Formats returns the names Render accepts, sorted.
func Formats() []string {
	return slices.Sorted(maps.Keys(renderers))
}

// Render writes r to w in format: text, md, junit, html, prom or json.
func Render(w io.Writer, r *Result, format string) error {
	rr, ok := renderers[format]
	if !ok {
		return fmt.Errorf("unknown report format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	return rr.Render(w, r)
}
