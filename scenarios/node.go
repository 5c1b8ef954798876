package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// decoder reads a scenario's node tree. It reads every value itself rather
// than through the yaml package's struct decoding, so that each refusal
// names the exact node, in the words of the file rather than of Go types.
type decoder struct {
	file string
	// lines of the file, to place errors inside a block scalar's text.
	lines []string
	// validateParams is LoadOptions.ValidateFault.
	validateParams func(kind string, params map[string]any) error
}

// errorAt returns an *Error at n's position (1:1 when n is nil or has none).
func (d *decoder) errorAt(n *yaml.Node, format string, args ...any) *Error {
	e := &Error{File: d.file, Line: 1, Column: 1, Msg: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// field is one known key of a mapping and how to read its value.
type field struct {
	name string
	read func(key, val *yaml.Node) error
}

// mapping reads n as a mapping whose keys must each be one of fields, at
// most once; where names the mapping in messages ("service"). A null value
// is an empty mapping, so "service:" with nothing under it is allowed.
func (d *decoder) mapping(n *yaml.Node, where string, fields []field) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorAt(n, "%s must be a mapping of keys, got %s", where, describe(n))
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	seen := make(map[string]bool, len(fields))
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name, err := d.key(key, where)
		if err != nil {
			return err
		}
		if seen[name] {
			return d.errorAt(key, "%s appears twice in %s", name, where)
		}
		seen[name] = true
		i := slices.Index(names, name)
		if i < 0 {
			return d.errorAt(key, "unknown key %q in %s%s; known keys: %s",
				name, where, didYouMean(name, names), strings.Join(names, ", "))
		}
		if err := fields[i].read(key, val); err != nil {
			return err
		}
	}
	return nil
}

// key reads a mapping key, which must be a plain scalar.
func (d *decoder) key(n *yaml.Node, where string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", d.errorAt(n, "a key in %s must be a word, got %s", where, describe(n))
	}
	return n.Value, nil
}

// pairs returns the key and value nodes of a mapping whose keys are free
// (code names, reasons, percentiles), refusing repeated keys.
func (d *decoder) pairs(n *yaml.Node, where string) ([][2]*yaml.Node, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, d.errorAt(n, "%s must be a mapping, got %s", where, describe(n))
	}
	seen := make(map[string]bool)
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name, err := d.key(key, where)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, d.errorAt(key, "%s appears twice in %s", name, where)
		}
		seen[name] = true
		out = append(out, [2]*yaml.Node{key, val})
	}
	return out, nil
}

// str reads a scalar as text; what names the value in messages.
func (d *decoder) str(n *yaml.Node, what string) (string, error) {
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", d.errorAt(n, "%s must be a single value, got %s", what, describe(n))
	}
	return n.Value, nil
}

// strList reads a sequence of scalars; a single scalar is not accepted, so
// that "tags: clock" is not silently a one-tag list of something else.
func (d *decoder) strList(n *yaml.Node, what string) ([]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, d.errorAt(n, "%s must be a list such as [a, b], got %s", what, describe(n))
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			return nil, d.errorAt(item, "each of %s must be a single value, got %s", what, describe(item))
		}
		out = append(out, item.Value)
	}
	return out, nil
}

// duration reads a Go duration ("300ms", "2m", "1h30m"); it must not be negative.
func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, error) {
	if isNull(n) {
		return 0, nil
	}
	if n.Kind != yaml.ScalarNode {
		return 0, d.errorAt(n, "%s must be a duration such as 300ms, 30s or 2m, got %s", what, describe(n))
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return 0, d.errorAt(n, "bad duration %q for %s: write a number and a unit, such as 300ms, 30s, 2m or 1h30m", n.Value, what)
	}
	if v < 0 {
		return 0, d.errorAt(n, "%s must not be negative, got %s", what, n.Value)
	}
	return v, nil
}

// integer reads a whole number written in decimal.
func (d *decoder) integer(n *yaml.Node, what string) (int64, error) {
	if isNull(n) {
		return 0, nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, d.errorAt(n, "%s must be a whole number, got %s", what, describe(n))
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, d.errorAt(n, "%s must be a whole number written in decimal, got %s", what, n.Value)
	}
	return v, nil
}

// isNull reports whether n is absent, "~", "null" or an empty value.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names a node's kind for messages: "a list", "the number 3".
func describe(n *yaml.Node) string {
	switch {
	case n == nil || isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	}
	return strconv.Quote(n.Value)
}
