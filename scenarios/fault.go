package scenarios

import (
	"errors"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// ParamError is what a fault validator may return (or wrap) to name the
// parameter at fault, so the loader points at that key instead of at the
// fault as a whole.
type ParamError interface {
	error
	// Param is the key of the offending parameter, e.g. "offset".
	Param() string
}

// faults reads the faults list. Each item is a mapping: kind, start,
// after_calls and duration are read here; every other key is a parameter
// of the kind, decoded as plain YAML and left to the validator (see LoadOptions).
func (d *decoder) faults(n *yaml.Node) ([]Fault, error) {
	if yamlfile.IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, d.At(n, "faults must be a list of faults, each with a kind, got %s", yamlfile.Describe(n))
	}
	out := make([]Fault, 0, len(n.Content))
	for _, item := range n.Content {
		f, err := d.fault(item)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (d *decoder) fault(n *yaml.Node) (Fault, error) {
	f := Fault{Params: map[string]any{}, Line: n.Line, Column: n.Column}
	if n.Kind != yaml.MappingNode {
		return f, d.At(n, "a fault must be a mapping with a kind, such as {kind: clock-skew, target: broker, offset: 2m}, got %s", yamlfile.Describe(n))
	}
	pairs, err := d.Pairs(n, "a fault")
	if err != nil {
		return f, err
	}
	var kindSeen bool
	var start, afterCalls *yaml.Node
	for _, p := range pairs {
		key, val := p[0], p[1]
		switch key.Value {
		case "kind":
			if f.Kind, err = d.Str(val, "kind"); err != nil {
				return f, err
			}
			if !kebab.MatchString(f.Kind) {
				return f, d.At(val, "fault kind %q must be kebab-case, such as clock-skew", f.Kind)
			}
			kindSeen = true
		case "start":
			start = key
			if f.Start, err = d.Duration(val, "start"); err != nil {
				return f, err
			}
		case "after_calls":
			afterCalls = key
			n, err := d.Integer(val, "after_calls")
			if err != nil {
				return f, err
			}
			if n < 1 || n > maxCalls {
				return f, d.At(val, "after_calls must be between 1 and %d, got %d: the window opens once that many calls have finished", maxCalls, n)
			}
			f.AfterCalls = int(n)
		case "duration":
			if f.Duration, err = d.Duration(val, "duration"); err != nil {
				return f, err
			}
		default:
			var v any
			if err := val.Load(&v); err != nil {
				return f, d.At(val, "parameter %s: %s", key.Value, strings.TrimPrefix(err.Error(), "yaml: "))
			}
			f.Params[key.Value] = v
		}
	}
	if !kindSeen {
		return f, d.At(n, "a fault needs a kind, such as kind: clock-skew")
	}
	if start != nil && afterCalls != nil {
		later := start
		if afterCalls.Line > start.Line || (afterCalls.Line == start.Line && afterCalls.Column > start.Column) {
			later = afterCalls
		}
		return f, d.At(later, "start and after_calls both say when the fault opens: give one or the other")
	}
	return f, d.validateFault(n, f)
}

// validateFault asks the validator about f and places its refusal: at the
// parameter it names, else at the fault's first line.
func (d *decoder) validateFault(n *yaml.Node, f Fault) error {
	if d.validateParams == nil {
		return nil
	}
	err := d.validateParams(f.Kind, f.Params)
	if err == nil {
		return nil
	}
	at := n
	var pe ParamError
	if errors.As(err, &pe) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == pe.Param() {
				at = n.Content[i]
				break
			}
		}
	}
	return d.At(at, "%s", err.Error())
}
