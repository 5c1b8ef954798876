package conformance

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

// The schema is read by walking File's fields: each struct's yaml tags are
// the keys its mapping may hold, so the struct is the only list of keys
// there is. Every value node is remembered by its dotted key, for the
// checks after decoding to point at.

// nodeReader is a schema type that reads its own node (a duration, a
// header written as a name or a mapping, a claim template).
type nodeReader interface {
	readNode(r *fileReader, n *yaml.Node, where string) error
}

// schemaKeys are the yaml keys of struct type t, in field order.
func schemaKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// yamlName is the key of a struct field; "" for a field the file does not hold.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// decode reads n into v, a value of a schema type; where is n's dotted key.
func (r *fileReader) decode(n *yaml.Node, v reflect.Value, where string) error {
	if yamlfile.IsNull(n) {
		return nil
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		return r.decode(n, v.Elem(), where)
	}
	if nr, ok := v.Addr().Interface().(nodeReader); ok {
		return nr.readNode(r, n, where)
	}
	switch v.Kind() {
	case reflect.Struct:
		return r.decodeStruct(n, v, where)
	case reflect.String:
		s, err := r.Str(n, where)
		v.SetString(s)
		return err
	case reflect.Bool:
		b, err := r.Bool(n, where)
		v.SetBool(b)
		return err
	case reflect.Int:
		i, err := r.Integer(n, where)
		if err == nil && (i < 0 || i > math.MaxInt32) {
			return r.At(n, "%s must be between 0 and %d, got %d", where, math.MaxInt32, i)
		}
		v.SetInt(i)
		return err
	case reflect.Slice:
		list, err := r.StrList(n, where)
		v.Set(reflect.ValueOf(list))
		return err
	case reflect.Map:
		return r.decodeStringMap(n, v, where)
	}
	return r.At(n, "%s: the schema has a field of kind %s", where, v.Kind()) // a schema bug, caught by the tests
}

// decodeStruct reads a mapping whose keys are v's fields.
func (r *fileReader) decodeStruct(n *yaml.Node, v reflect.Value, where string) error {
	t := v.Type()
	in := where
	if in == "" {
		in = "the target config"
	}
	nodes, err := r.Fields(n, in, schemaKeys(t))
	if err != nil {
		return err
	}
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		val, ok := nodes[name]
		if name == "" || !ok {
			continue
		}
		key := name
		if where != "" {
			key = where + "." + name
		}
		r.nodes[key] = val
		if err := r.decode(val, v.Field(i), key); err != nil {
			return err
		}
	}
	return nil
}

// decodeStringMap reads a mapping of free keys to text.
func (r *fileReader) decodeStringMap(n *yaml.Node, v reflect.Value, where string) error {
	pairs, err := r.Pairs(n, where)
	if err != nil {
		return err
	}
	m := reflect.MakeMapWithSize(v.Type(), len(pairs))
	for _, kv := range pairs {
		if yamlfile.IsNull(kv[1]) {
			return r.At(kv[1], "%s.%s needs a value", where, kv[0].Value)
		}
		s, err := r.Str(kv[1], where+"."+kv[0].Value)
		if err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(kv[0].Value), reflect.ValueOf(s))
	}
	v.Set(m)
	return nil
}

// readNode reads a duration: 30s, 1h.
func (d *Duration) readNode(r *fileReader, n *yaml.Node, where string) error {
	v, err := r.Duration(n, where)
	*d = Duration(v)
	return err
}

// readNode reads a header: its name alone, or {name, scheme}.
func (h *HeaderFile) readNode(r *fileReader, n *yaml.Node, where string) error {
	if n.Kind == yaml.ScalarNode {
		s, err := r.Str(n, where)
		h.Name = s
		return err
	}
	type plain HeaderFile // without readNode, so decode walks its fields
	var p plain
	err := r.decodeStruct(n, reflect.ValueOf(&p).Elem(), where)
	*h = HeaderFile(p)
	return err
}

// readNode reads one_shot: a boolean, or {claims: {...}}.
func (o *OneShotFile) readNode(r *fileReader, n *yaml.Node, where string) error {
	if n.Kind == yaml.ScalarNode {
		on, err := r.Bool(n, where)
		o.off = !on
		return err
	}
	type plain OneShotFile
	var p plain
	err := r.decodeStruct(n, reflect.ValueOf(&p).Elem(), where)
	*o = OneShotFile(p)
	if err == nil && o.Claims == nil {
		o.Claims = &ClaimsFile{Object: fakes.Object{}}
	}
	return err
}

// readNode reads a claim template: any YAML mapping, its members in order.
func (c *ClaimsFile) readNode(r *fileReader, n *yaml.Node, where string) error {
	if n.Kind != yaml.MappingNode {
		return r.At(n, "%s must be a mapping of claims, got %s", where, yamlfile.Describe(n))
	}
	v, err := r.claimValue(n, where)
	if err != nil {
		return err
	}
	c.Object = v.(fakes.Object)
	return nil
}

// claimValue turns a YAML node into a claim value: objects keep their
// order, numbers stay numbers, and a repeated key is an error.
func (r *fileReader) claimValue(n *yaml.Node, where string) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		pairs, err := r.Pairs(n, where)
		if err != nil {
			return nil, err
		}
		obj := fakes.Object{}
		for _, kv := range pairs {
			v, err := r.claimValue(kv[1], where+"."+kv[0].Value)
			if err != nil {
				return nil, err
			}
			obj = append(obj, fakes.Member{Name: kv[0].Value, Value: v})
		}
		return obj, nil
	case yaml.SequenceNode:
		out := []any{}
		for i, item := range n.Content {
			v, err := r.claimValue(item, where+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		return r.claimScalar(n, where)
	}
	return nil, r.At(n, "%s: %s is not a claim value", where, yamlfile.Describe(n))
}

// claimScalar reads a scalar claim value by its YAML type.
func (r *fileReader) claimScalar(n *yaml.Node, where string) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, r.At(n, "%s: %v", where, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, r.At(n, "%s: %s is not a 64-bit integer: quote it for a string", where, n.Value)
		}
		return json.Number(strconv.FormatInt(i, 10)), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, r.At(n, "%s: %s is not a finite number: JSON has no such value", where, n.Value)
		}
		if json.Valid([]byte(n.Value)) {
			return json.Number(n.Value), nil // kept exactly as written: 1e19
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return n.Value, nil // text, and what YAML calls a timestamp: JSON has only text for dates
}
