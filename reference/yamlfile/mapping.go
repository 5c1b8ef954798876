package yamlfile

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Field is one known key of a mapping and how to read its value.
type Field struct {
	// Name is the key as the file writes it.
	Name string
	// Read reads the value; key is there to point at the key itself.
	Read func(key, val *yaml.Node) error
}

// Mapping reads n as a mapping whose keys must each be one of fields, at
// most once, calling each field's Read in file order; where names the
// mapping in messages ("service"). A null value is an empty mapping, so
// "service:" with nothing under it is allowed.
func (r *Reader) Mapping(n *yaml.Node, where string, fields []Field) error {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return r.known(n, where, names, func(i int, key, val *yaml.Node) error {
		return fields[i].Read(key, val)
	})
}

// Fields reads n as Mapping does, with keys among known, and returns the
// value node of each key present (an empty map for a null value).
func (r *Reader) Fields(n *yaml.Node, where string, known []string) (map[string]*yaml.Node, error) {
	out := make(map[string]*yaml.Node)
	err := r.known(n, where, known, func(i int, _, val *yaml.Node) error {
		out[known[i]] = val
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// known walks mapping n, refusing an unknown or repeated key, and calls
// each with the index in names of every key, in file order.
func (r *Reader) known(n *yaml.Node, where string, names []string, each func(i int, key, val *yaml.Node) error) error {
	if IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return r.At(n, "%s must be a mapping of keys, got %s", where, Describe(n))
	}
	return r.eachPair(n, where, func(key, val *yaml.Node) error {
		i := slices.Index(names, key.Value)
		if i < 0 {
			hint := ""
			if r.Hints {
				hint = DidYouMean(key.Value, names)
			}
			return r.At(key, "unknown key %q in %s%s; known keys: %s", key.Value, where, hint, strings.Join(names, ", "))
		}
		return each(i, key, val)
	})
}

// Pairs returns the key and value nodes of a mapping whose keys are free
// (code names, reasons, percentiles), refusing repeated keys; where names
// the mapping in messages.
func (r *Reader) Pairs(n *yaml.Node, where string) ([][2]*yaml.Node, error) {
	if IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, r.At(n, "%s must be a mapping, got %s", where, Describe(n))
	}
	var out [][2]*yaml.Node
	err := r.eachPair(n, where, func(key, val *yaml.Node) error {
		out = append(out, [2]*yaml.Node{key, val})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachPair calls each on every key and value of mapping n in file order,
// after checking that the key is a word that has not appeared before.
func (r *Reader) eachPair(n *yaml.Node, where string, each func(key, val *yaml.Node) error) error {
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name, err := r.Key(key, where)
		if err != nil {
			return err
		}
		if seen[name] {
			return r.At(key, "%s appears twice in %s", name, where)
		}
		seen[name] = true
		if err := each(key, val); err != nil {
			return err
		}
	}
	return nil
}

// Key reads a mapping key, which must be a plain scalar; where names the mapping.
func (r *Reader) Key(n *yaml.Node, where string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", r.At(n, "a key in %s must be a word, got %s", where, Describe(n))
	}
	return n.Value, nil
}
