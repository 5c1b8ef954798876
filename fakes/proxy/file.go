package proxy

import (
	"errors"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/filecap"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

// ErrInvalidFile is wrapped by every error about the contents of a faults file.
var ErrInvalidFile = errors.New("invalid faults file")

// LoadFile reads a faults file (ParseFile) for a proxy of protocol proto.
func LoadFile(path string, proto Protocol) ([]Spec, error) {
	data, err := filecap.ReadFile(path, filecap.FaultsFile)
	if err != nil {
		return nil, err
	}
	return ParseFile(path, data, proto)
}

// ParseFile reads a faults file, strictly: a mapping with one key, faults,
// a list of specs with the control API's keys:
//
//	faults:
//	  - name: slow-keys
//	    kind: latency
//	    methods: [/pkg.KeyService/*]
//	    probability: 0.5
//	    params: {delay: 200ms, jitter: 50ms}
//
// Every spec is checked as Faults.Add would; an error is a *yamlfile.Error
// at FILE:LINE:COL of the key or value at fault.
func ParseFile(name string, data []byte, proto Protocol) ([]Spec, error) {
	r := &yamlfile.Reader{File: name, Err: ErrInvalidFile, Kind: "faults files", Hints: true}
	root, err := r.Load(data, 16, nil)
	if err != nil {
		return nil, err
	}
	var list *yaml.Node
	if err := r.Mapping(root, "a faults file", []yamlfile.Field{
		{Name: "faults", Read: func(_, v *yaml.Node) error { list = v; return nil }},
	}); err != nil {
		return nil, err
	}
	if yamlfile.IsNull(list) {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, r.At(list, "faults must be a list of faults, each a mapping with a kind, got %s", yamlfile.Describe(list))
	}
	var out []Spec
	names := map[string]bool{}
	for _, item := range list.Content {
		s, err := readFileSpec(r, item, proto)
		if err != nil {
			return nil, err
		}
		if names[s.Name] {
			return nil, r.At(item, "two faults are named %q: give one a name of its own", s.Name)
		}
		names[s.Name] = true
		out = append(out, s)
	}
	return out, nil
}

// readFileSpec reads one spec and checks it, placing a *FieldError at its node.
func readFileSpec(r *yamlfile.Reader, n *yaml.Node, proto Protocol) (Spec, error) {
	if n.Kind != yaml.MappingNode {
		return Spec{}, r.At(n, "a fault must be a mapping such as {kind: latency, params: {delay: 100ms}}, got %s", yamlfile.Describe(n))
	}
	nodes := map[string]*yaml.Node{}
	var s Spec
	err := r.Mapping(n, "a fault", []yamlfile.Field{
		{Name: "name", Read: func(k, v *yaml.Node) (err error) { nodes["name"] = v; s.Name, err = r.Str(v, "name"); return }},
		{Name: "kind", Read: func(k, v *yaml.Node) (err error) { nodes["kind"] = v; s.Kind, err = r.Str(v, "kind"); return }},
		{Name: "methods", Read: func(k, v *yaml.Node) (err error) {
			nodes["methods"] = v
			s.Methods, err = r.StrList(v, "methods")
			return
		}},
		{Name: "probability", Read: func(k, v *yaml.Node) error {
			nodes["probability"] = v
			if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!float" && v.ShortTag() != "!!int") {
				return r.At(v, "probability must be a number between 0 and 1, got %s", yamlfile.Describe(v))
			}
			f, err := strconv.ParseFloat(v.Value, 64)
			if err != nil {
				return r.At(v, "probability must be a number between 0 and 1, got %s", v.Value)
			}
			s.Probability = &f
			return nil
		}},
		{Name: "params", Read: func(k, v *yaml.Node) error {
			nodes["params"] = k
			pairs, err := r.Pairs(v, "params")
			if err != nil {
				return err
			}
			s.Params = Params{}
			for _, kv := range pairs {
				key, val := kv[0], kv[1]
				if val.Kind != yaml.ScalarNode || yamlfile.IsNull(val) {
					return r.At(val, "params.%s must be a single value, got %s", key.Value, yamlfile.Describe(val))
				}
				s.Params[key.Value] = val.Value
				nodes["params."+key.Value] = val
				nodes["params.key."+key.Value] = key
			}
			return nil
		}},
	})
	if err != nil {
		return Spec{}, err
	}
	checked, err := Check(s, proto)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			return Spec{}, r.At(n, "%v", err)
		}
		at := nodes[fe.Field]
		if strings.HasPrefix(fe.Field, "params.") && strings.Contains(fe.Msg, "unknown param") {
			at = nodes["params.key."+strings.TrimPrefix(fe.Field, "params.")]
		}
		if at == nil {
			at = nodes["params"] // a missing param: point at params, or at the fault
		}
		if at == nil {
			at = n
		}
		return Spec{}, r.At(at, "%s", fe.Error())
	}
	return checked, nil
}
