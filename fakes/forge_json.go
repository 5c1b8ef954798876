package fakes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Object is a JSON object whose members keep their order and may repeat a
// name. The forger writes claims and headers exactly as a case needs them:
// a case-variant name after the real one, or the same name twice, which a
// Go map cannot express and which is what decoders disagree on.
//
// Values are string, json.Number, bool, nil, []any and Object.
type Object []Member

// Member is one name and value of an Object.
type Member struct {
	// Name is the member's name, as written.
	Name string
	// Value is its value.
	Value any
}

// Get returns the value of the first member called name.
func (o Object) Get(name string) (any, bool) {
	for _, m := range o {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// Index returns the position of the first member called name, or -1.
func (o Object) Index(name string) int {
	for i, m := range o {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// Set gives the first member called name the value v, or appends it.
func (o *Object) Set(name string, v any) {
	if i := o.Index(name); i >= 0 {
		(*o)[i].Value = v
		return
	}
	*o = append(*o, Member{Name: name, Value: v})
}

// Delete removes every member called name.
func (o *Object) Delete(name string) {
	out := (*o)[:0]
	for _, m := range *o {
		if m.Name != name {
			out = append(out, m)
		}
	}
	*o = out
}

// Insert puts a member at position i (clamped to the object's length).
func (o *Object) Insert(i int, name string, v any) {
	i = max(0, min(i, len(*o)))
	*o = append(*o, Member{})
	copy((*o)[i+1:], (*o)[i:])
	(*o)[i] = Member{Name: name, Value: v}
}

// Clone returns a deep copy of o.
func (o Object) Clone() Object {
	out := make(Object, len(o))
	for i, m := range o {
		out[i] = Member{Name: m.Name, Value: cloneValue(m.Value)}
	}
	return out
}

// cloneValue deep-copies a JSON value of an Object.
func cloneValue(v any) any {
	switch x := v.(type) {
	case Object:
		return x.Clone()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// MarshalJSON writes the members in order, repeated names included.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(m.Name)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(m.Value)
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", m.Name, err)
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ErrDuplicateName is wrapped by DecodeObject's error for a name that appears twice in one object.
var ErrDuplicateName = errors.New("duplicate member name")

// maxJSONDepth bounds nesting when decoding, so hostile input cannot exhaust the stack.
const maxJSONDepth = 64

// DecodeObject reads one JSON object, keeping member order and numbers
// exact. A repeated name is an error wrapping ErrDuplicateName unless
// duplicates is true; anything after the object is an error.
func DecodeObject(data []byte, duplicates bool) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, duplicates, 0)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(Object)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %s", jsonKind(v))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return obj, nil
}

// decodeValue reads the next value from dec.
func decodeValue(dec *json.Decoder, duplicates bool, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return decodeObject(dec, duplicates, depth)
		case '[':
			out := []any{}
			for dec.More() {
				v, err := decodeValue(dec, duplicates, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token() // ']'
			return out, err
		}
		return nil, fmt.Errorf("unexpected %q", t)
	case float64: // not with UseNumber; kept for safety
		return json.Number(strconv.FormatFloat(t, 'g', -1, 64)), nil
	}
	return tok, nil
}

// decodeObject reads an object's members after its '{'.
func decodeObject(dec *json.Decoder, duplicates bool, depth int) (Object, error) {
	out := Object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("not JSON: an object name is not a string")
		}
		if !duplicates && out.Index(name) >= 0 {
			return nil, fmt.Errorf("%w %q", ErrDuplicateName, name)
		}
		v, err := decodeValue(dec, duplicates, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, Member{Name: name, Value: v})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return out, nil
}

// jsonKind names a decoded value's JSON type for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case Object:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// numberValue reads a JSON number as seconds; false when v is not a finite number.
func numberValue(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0, false
	}
	return f, !math.IsInf(f, 0) && !math.IsNaN(f)
}
