package yamlfile

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// The value readers take what, the value's name in messages
// ("client.deadline"), and read a null or absent value as the zero value,
// so that an optional key may be left out or left empty.

// Str reads a scalar as text.
func (r *Reader) Str(n *yaml.Node, what string) (string, error) {
	if IsNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", r.At(n, "%s must be a single value, got %s", what, Describe(n))
	}
	return n.Value, nil
}

// StrList reads a sequence of scalars; a single scalar is not accepted, so
// that "tags: clock" is not silently a one-tag list of something else.
func (r *Reader) StrList(n *yaml.Node, what string) ([]string, error) {
	if IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, r.At(n, "%s must be a list such as [a, b], got %s", what, Describe(n))
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || IsNull(item) {
			return nil, r.At(item, "each of %s must be a single value, got %s", what, Describe(item))
		}
		out = append(out, item.Value)
	}
	return out, nil
}

// Duration reads a Go duration ("300ms", "2m", "1h30m"); it must not be negative.
func (r *Reader) Duration(n *yaml.Node, what string) (time.Duration, error) {
	if IsNull(n) {
		return 0, nil
	}
	if n.Kind != yaml.ScalarNode {
		return 0, r.At(n, "%s must be a duration such as 300ms, 30s or 2m, got %s", what, Describe(n))
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return 0, r.At(n, "bad duration %q for %s: write a number and a unit, such as 300ms, 30s, 2m or 1h30m", n.Value, what)
	}
	if v < 0 {
		return 0, r.At(n, "%s must not be negative, got %s", what, n.Value)
	}
	return v, nil
}

// Integer reads a whole number written in decimal.
func (r *Reader) Integer(n *yaml.Node, what string) (int64, error) {
	if IsNull(n) {
		return 0, nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, r.At(n, "%s must be a whole number, got %s", what, Describe(n))
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, r.At(n, "%s must be a whole number written in decimal, got %s", what, n.Value)
	}
	return v, nil
}

// Bool reads true or false.
func (r *Reader) Bool(n *yaml.Node, what string) (bool, error) {
	if IsNull(n) {
		return false, nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, r.At(n, "%s must be true or false, got %s", what, Describe(n))
	}
	v, err := strconv.ParseBool(n.Value)
	if err != nil {
		// An explicit tag on another word: !!bool yes.
		return false, r.At(n, "%s must be true or false, got %s", what, Describe(n))
	}
	return v, nil
}
