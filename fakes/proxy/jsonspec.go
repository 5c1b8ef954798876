package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// specFields are the keys of a spec in JSON (and in a faults file).
var specFields = []string{"name", "kind", "methods", "probability", "params"}

// jsonObject reads data as one JSON object, refusing duplicate keys and
// anything after it, and returns its members in order. Names are matched
// case-sensitively by the caller (encoding/json's struct decoding would
// not).
func jsonObject(data []byte, where string) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s", where, jsonMsg(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("%s: want a JSON object", where)
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s", where, jsonMsg(err))
		}
		key := tok.(string) // inside an object, Token yields a string key or fails
		if _, dup := vals[key]; dup {
			return nil, nil, &FieldError{Field: joinField(where, key), Msg: "given twice"}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, &FieldError{Field: joinField(where, key), Msg: jsonMsg(err)}
		}
		keys = append(keys, key)
		vals[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%s: %s", where, jsonMsg(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("%s: unexpected data after the object", where)
	}
	return keys, vals, nil
}

func joinField(where, key string) string {
	if where == "" || where == "spec" {
		return key
	}
	return where + "." + key
}

func jsonMsg(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the JSON ends early"
	}
	return "bad JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// DecodeSpecJSON reads a spec from a JSON object with the keys name, kind,
// methods, probability and params, strictly: unknown or repeated keys,
// wrong types and trailing data are a *FieldError (or an error naming the
// body). With base not nil, the object patches base: keys present replace
// base's, params merge key by key (null removes one), and kind and name
// cannot change.
func DecodeSpecJSON(data []byte, base *Spec) (Spec, error) {
	keys, vals, err := jsonObject(data, "spec")
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return Spec{}, fe
		}
		return Spec{}, fieldErr("body", "%s", strings.TrimPrefix(err.Error(), "spec: "))
	}
	var s Spec
	if base != nil {
		s = cloneSpec(*base)
	}
	for _, k := range keys {
		if !slices.Contains(specFields, k) {
			return Spec{}, fieldErr(k, "unknown field; fields: %s", strings.Join(specFields, ", "))
		}
	}
	str := func(k string) (string, bool, error) {
		raw, ok := vals[k]
		if !ok {
			return "", false, nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || bytes.Equal(raw, []byte("null")) {
			return "", false, fieldErr(k, "must be a string")
		}
		return v, true, nil
	}
	if v, ok, err := str("name"); err != nil {
		return Spec{}, err
	} else if ok {
		if base != nil && v != base.Name {
			return Spec{}, fieldErr("name", "cannot change (%q): remove the fault and add it again", base.Name)
		}
		s.Name = v
	}
	if v, ok, err := str("kind"); err != nil {
		return Spec{}, err
	} else if ok {
		if base != nil && v != base.Kind {
			return Spec{}, fieldErr("kind", "cannot change (%q): remove the fault and add it again", base.Kind)
		}
		s.Kind = v
	}
	if raw, ok := vals["methods"]; ok {
		var m []string
		if err := json.Unmarshal(raw, &m); err != nil || (m == nil && !bytes.Equal(raw, []byte("null"))) {
			return Spec{}, fieldErr("methods", "must be a list of method patterns such as [\"/pkg.Service/*\"]")
		}
		s.Methods = m
	}
	if raw, ok := vals["probability"]; ok {
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || !isJSONNumber(raw) || math.IsInf(f, 0) {
			return Spec{}, fieldErr("probability", "must be a number between 0 and 1, got %s", truncateRaw(raw))
		}
		s.Probability = &f
	}
	if raw, ok := vals["params"]; ok {
		if s.Params == nil {
			s.Params = Params{}
		}
		if err := decodeParamsJSON(raw, s.Params); err != nil {
			return Spec{}, err
		}
	}
	return s, nil
}

// decodeParamsJSON merges a params object into p: strings, numbers and
// booleans are taken as written, null removes the key.
func decodeParamsJSON(raw json.RawMessage, p Params) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		clear(p)
		return nil
	}
	keys, vals, err := jsonObject(raw, "params")
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fe
		}
		return fieldErr("params", "must be an object of settings, such as {\"delay\": \"100ms\"}")
	}
	for _, k := range keys {
		v := bytes.TrimSpace(vals[k])
		switch {
		case bytes.Equal(v, []byte("null")):
			delete(p, k)
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return paramErr(k, "bad string")
			}
			p[k] = s
		case bytes.Equal(v, []byte("true")), bytes.Equal(v, []byte("false")), isJSONNumber(v):
			p[k] = string(v)
		default:
			return paramErr(k, "must be a string, number or boolean")
		}
	}
	return nil
}

func isJSONNumber(v []byte) bool {
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && json.Valid(v)
}

func truncateRaw(raw []byte) string {
	s := string(raw)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// specOut is how the control API shows a spec: every key present, in a fixed order.
type specOut struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Methods     []string          `json:"methods"`
	Probability float64           `json:"probability"`
	Params      map[string]string `json:"params"`
}

func specJSON(s Spec) specOut {
	out := specOut{Name: s.Name, Kind: s.Kind, Methods: s.Methods, Probability: 1, Params: maps.Clone(s.Params)}
	if out.Methods == nil {
		out.Methods = []string{}
	}
	if s.Probability != nil {
		out.Probability = *s.Probability
	}
	if out.Params == nil {
		out.Params = map[string]string{}
	}
	return out
}
