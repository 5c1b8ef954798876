package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// fileReader reads a config's YAML node tree value by value, so that every
// refusal names the node at fault. It follows the scenario and policy
// loaders (the node API, file:line:col), whose helpers are not exported.
type fileReader struct {
	file string
	dir  string // relative paths in the file are relative to it
}

// at returns a *ConfigError at n (1:1 when n has no position).
func (r *fileReader) at(n *yaml.Node, format string, args ...any) *ConfigError {
	e := &ConfigError{File: r.file, Line: 1, Column: 1, Msg: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// syntaxError places a yaml syntax error at the mark it carries.
func (r *fileReader) syntaxError(err error) error {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return r.at(nil, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	e := r.at(nil, "%s", strings.TrimPrefix(le.Message, "yaml: "))
	if le.Mark.Line > 0 {
		e.Line, e.Column = le.Mark.Line, max(le.Mark.Column, 1)
	}
	if le.ContextMsg != "" {
		e.Msg += " (" + le.ContextMsg + ")"
	}
	switch e.Msg {
	case "expected single document, found multiple":
		e.Msg = "more than one YAML document (---): a config file describes one target"
	case "no documents in stream":
		e.Msg = emptyFile
	}
	return e
}

// noAliases refuses aliases and absurd nesting: a config is short enough to write out.
func (r *fileReader) noAliases(n *yaml.Node, depth int) error {
	if depth > 16 {
		return r.at(n, "the file nests deeper than a target config can")
	}
	if n.Kind == yaml.AliasNode {
		return r.at(n, "aliases (*%s) are not supported: write the value out", n.Value)
	}
	for _, c := range n.Content {
		if err := r.noAliases(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// fields reads mapping n, whose keys must be among allowed, each at most
// once, and returns the value node of each key present.
func (r *fileReader) fields(n *yaml.Node, where string, allowed []string) (map[string]*yaml.Node, error) {
	out := make(map[string]*yaml.Node)
	if isNull(n) {
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, r.at(n, "%s must be a mapping of keys, got %s", where, kindOf(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, r.at(k, "a key in %s must be a word, got %s", where, kindOf(k))
		}
		if !slices.Contains(allowed, k.Value) {
			return nil, r.at(k, "unknown key %q in %s; known keys: %s", k.Value, where, strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, r.at(k, "%s appears twice in %s", k.Value, where)
		}
		out[k.Value] = v
	}
	return out, nil
}

// section reads an optional mapping as fields does; nil when it is absent.
func (r *fileReader) section(n *yaml.Node, where string, allowed []string) (map[string]*yaml.Node, error) {
	if isNull(n) {
		return nil, nil
	}
	return r.fields(n, where, allowed)
}

// text reads an optional scalar.
func (r *fileReader) text(n *yaml.Node, what string) (string, error) {
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", r.at(n, "%s must be a single value, got %s", what, kindOf(n))
	}
	return n.Value, nil
}

// required reads a scalar that must be present and not empty.
func (r *fileReader) required(n *yaml.Node, what string) (string, error) {
	s, err := r.text(n, what)
	if err == nil && strings.TrimSpace(s) == "" {
		return "", r.at(n, "%s must not be empty", what)
	}
	return s, err
}

// maxFileBytes bounds the files a config names: keys, requests, certificates.
const maxFileBytes = 16 << 20

// path reads an optional file name, made relative to the config's
// directory. The file must be a regular file of sensible size: a device
// such as /dev/zero would never end.
func (r *fileReader) path(n *yaml.Node, what string) (string, error) {
	s, err := r.text(n, what)
	if err != nil || s == "" {
		return s, err
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(r.dir, s)
	}
	fi, err := os.Stat(s)
	switch {
	case err != nil:
		return "", r.at(n, "%s: %v", what, err)
	case !fi.Mode().IsRegular():
		return "", r.at(n, "%s: %s is not a regular file", what, s)
	case fi.Size() > maxFileBytes:
		return "", r.at(n, "%s: %s is larger than %d MiB", what, s, maxFileBytes>>20)
	}
	return s, nil
}

// boolean reads true or false.
func (r *fileReader) boolean(n *yaml.Node, what string) (bool, error) {
	if isNull(n) {
		return false, nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, r.at(n, "%s must be true or false, got %s", what, kindOf(n))
	}
	return strconv.ParseBool(n.Value)
}

// duration reads a non-negative Go duration ("30s", "1h").
func (r *fileReader) duration(n *yaml.Node, what string) (time.Duration, error) {
	s, err := r.text(n, what)
	if err != nil || s == "" {
		return 0, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, r.at(n, "bad duration %q for %s: write a number and a unit, such as 500ms, 30s or 1h", s, what)
	}
	if d < 0 {
		return 0, r.at(n, "%s must not be negative, got %s", what, s)
	}
	return d, nil
}

// list reads a sequence of scalars ([a, b]).
func (r *fileReader) list(n *yaml.Node, what string) ([]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, r.at(n, "%s must be a list such as [a, b], got %s", what, kindOf(n))
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			return nil, r.at(item, "each of %s must be a single value, got %s", what, kindOf(item))
		}
		out = append(out, item.Value)
	}
	return out, nil
}

// isNull reports whether n is absent or null.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// kindOf names a node's kind for messages.
func kindOf(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!int" || n.ShortTag() == "!!float":
		return "the number " + n.Value
	case n.ShortTag() == "!!bool":
		return "the boolean " + n.Value
	}
	return strconv.Quote(n.Value)
}
