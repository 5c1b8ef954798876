package yamlfile

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Reader reads one file's node tree value by value; its methods return
// *Error at the node they refuse.
type Reader struct {
	// File names the file in every error.
	File string
	// Err is the sentinel every *Error from this reader wraps.
	Err error
	// Kind names such files in the plural for messages: "scenario files".
	Kind string
	// Hints adds ` (did you mean "x"?)` to an unknown key's error when a known key is close.
	Hints bool
}

// At returns an *Error at n's position (1:1 when n is nil or has none).
func (r *Reader) At(n *yaml.Node, format string, args ...any) *Error {
	e := &Error{File: r.File, Line: 1, Column: 1, Msg: fmt.Sprintf(format, args...), Err: r.Err}
	if n != nil && n.Line > 0 {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// LoadError turns an error from the yaml package into an *Error at the
// mark it carries, or at n when it carries none; the message loses the
// package's "yaml: " prefix and gains the parser's context in parentheses.
func (r *Reader) LoadError(err error, n *yaml.Node) *Error {
	var le *yaml.LoadError // a LoadErrors yields its first one here
	if !errors.As(err, &le) {
		return r.At(n, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	e := r.At(n, "%s", strings.TrimPrefix(le.Message, "yaml: "))
	if le.Mark.Line > 0 {
		// A column of 0 means unknown; the line alone is still worth giving.
		e.Line, e.Column = le.Mark.Line, max(le.Mark.Column, 1)
	}
	if le.ContextMsg != "" {
		e.Msg += " (" + le.ContextMsg + ")"
	}
	return e
}

// Load parses data, which must hold one YAML document, and returns its
// root node, refusing aliases and nesting deeper than maxDepth. A syntax
// error is placed by LoadError, then handed to reword (when not nil) so
// that the loader can say it in the words of its own files.
func (r *Reader) Load(data []byte, maxDepth int, reword func(*Error)) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Load(data, &doc); err != nil {
		e := r.LoadError(err, nil)
		if reword != nil {
			reword(e)
		}
		return nil, e
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if err := r.noAliases(root, 0, maxDepth); err != nil {
		return nil, err
	}
	return root, nil
}

// noAliases refuses aliases, since expanding them could make a small file
// huge and these files are short enough to write out, and nesting deeper
// than maxDepth, so that the walk is bounded on a hostile file.
func (r *Reader) noAliases(n *yaml.Node, depth, maxDepth int) error {
	if depth > maxDepth {
		return r.At(n, "the file nests deeper than %d levels", maxDepth)
	}
	if n.Kind == yaml.AliasNode {
		in := ""
		if r.Kind != "" {
			in = " in " + r.Kind
		}
		return r.At(n, "aliases (*%s) are not supported%s: write the value out", n.Value, in)
	}
	for _, c := range n.Content {
		if err := r.noAliases(c, depth+1, maxDepth); err != nil {
			return err
		}
	}
	return nil
}
