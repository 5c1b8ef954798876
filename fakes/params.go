package fakes

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// ParamError is a fault param that could not be decoded. It names the key so
// the scenario loader can point at the key's line and column.
type ParamError struct {
	// Key is the offending param; empty when the params as a whole are wrong.
	Key string
	// Msg says what is wrong with it.
	Msg string
}

// Error implements error.
func (e *ParamError) Error() string {
	if e.Key == "" {
		return "params: " + e.Msg
	}
	return fmt.Sprintf("param %q: %s", e.Key, e.Msg)
}

// paramField is one tagged field of a params struct.
type paramField struct {
	name     string
	required bool
	enum     []string
	doc      string
	index    int
	typ      reflect.Type
}

var durationType = reflect.TypeFor[time.Duration]()

// paramFields reads the fields of a params struct: `param:"name[,required]"`,
// `enum:"a|b"` for a closed set of strings, `doc:"..."` for the listing.
func paramFields(t reflect.Type) []paramField {
	var out []paramField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("param")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		pf := paramField{name: name, required: opts == "required", doc: f.Tag.Get("doc"), index: i, typ: f.Type}
		if e := f.Tag.Get("enum"); e != "" {
			pf.enum = strings.Split(e, "|")
		}
		out = append(out, pf)
	}
	return out
}

// decodeParams fills the tagged struct dst points to from YAML-ish values:
// strings ("2m" for durations), numbers of any Go numeric type (integers
// must be whole), bools and lists of strings. Unknown keys, missing required
// keys, wrong types and values outside an enum are a *ParamError naming the key.
func decodeParams(params map[string]any, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic("fakes: decodeParams needs a pointer to a struct")
	}
	v = v.Elem()
	fields := paramFields(v.Type())
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.name
	}
	slices.Sort(known)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first error is the same on every run
	for _, k := range keys {
		i := slices.IndexFunc(fields, func(f paramField) bool { return f.name == k })
		if i < 0 {
			msg := "unknown param"
			if len(known) == 0 {
				msg += " (this fault takes none)"
			} else {
				msg += " (known: " + strings.Join(known, ", ") + ")"
			}
			return &ParamError{Key: k, Msg: msg}
		}
		f := fields[i]
		if err := setParam(v.Field(f.index), params[k]); err != nil {
			return &ParamError{Key: k, Msg: err.Error()}
		}
		if f.enum != nil && !slices.Contains(f.enum, v.Field(f.index).String()) {
			return &ParamError{Key: k, Msg: fmt.Sprintf("%q is not one of %s", v.Field(f.index).String(), strings.Join(f.enum, ", "))}
		}
	}
	for _, f := range fields {
		if _, ok := params[f.name]; f.required && !ok {
			return &ParamError{Key: f.name, Msg: "required"}
		}
	}
	return nil
}

// setParam stores raw in field, converting the loosely typed values a YAML
// or JSON decoder produces.
func setParam(field reflect.Value, raw any) error {
	if raw == nil {
		return fmt.Errorf("has no value")
	}
	rv := reflect.ValueOf(raw)
	switch {
	case field.Type() == durationType:
		d, err := toDuration(raw)
		if err != nil {
			return err
		}
		field.SetInt(int64(d))
	case field.Kind() == reflect.String:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want a string, got %s", describe(raw))
		}
		field.SetString(s)
	case field.Kind() == reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %s", describe(raw))
		}
		field.SetBool(b)
	case field.CanInt():
		f, ok := toFloat(rv)
		if !ok || f != math.Trunc(f) || f > math.MaxInt64 || f < math.MinInt64 {
			return fmt.Errorf("want a whole number, got %s", describe(raw))
		}
		field.SetInt(int64(f))
	case field.CanFloat():
		f, ok := toFloat(rv)
		if !ok {
			return fmt.Errorf("want a number, got %s", describe(raw))
		}
		field.SetFloat(f)
	case field.Kind() == reflect.Slice && field.Type().Elem().Kind() == reflect.String:
		if rv.Kind() != reflect.Slice {
			return fmt.Errorf("want a list of strings, got %s", describe(raw))
		}
		out := make([]string, rv.Len())
		for i := range out {
			s, ok := rv.Index(i).Interface().(string)
			if !ok {
				return fmt.Errorf("item %d: want a string, got %s", i, describe(rv.Index(i).Interface()))
			}
			out[i] = s
		}
		field.Set(reflect.ValueOf(out))
	default:
		panic(fmt.Sprintf("fakes: params field of unsupported type %s", field.Type()))
	}
	return nil
}

// toDuration accepts "90s"-style strings, a time.Duration from Go callers,
// and the number 0; other bare numbers are refused because their unit would
// be a guess.
func toDuration(raw any) (time.Duration, error) {
	switch x := raw.(type) {
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("want a duration like \"2m\" or \"250ms\", got %q", x)
		}
		return d, nil
	case time.Duration:
		return x, nil
	}
	if f, ok := toFloat(reflect.ValueOf(raw)); ok && f == 0 {
		return 0, nil
	}
	return 0, fmt.Errorf("want a duration with a unit, like \"2m\" or \"250ms\", got %s", describe(raw))
}

func toFloat(v reflect.Value) (float64, bool) {
	switch {
	case v.CanInt():
		return float64(v.Int()), true
	case v.CanUint():
		return float64(v.Uint()), true
	case v.CanFloat():
		return v.Float(), true
	}
	return 0, false
}

// describe names a value's type and value for an error, the way a scenario author would read it.
func describe(raw any) string {
	switch x := raw.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the bool %t", x)
	case nil:
		return "nothing"
	}
	v := reflect.ValueOf(raw)
	if _, ok := toFloat(v); ok {
		return fmt.Sprintf("the number %v", raw)
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", raw)
}

// paramDocs documents the tagged fields of a params struct.
func paramDocs(params any) []ParamDoc {
	t := reflect.TypeOf(params)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []ParamDoc
	for _, f := range paramFields(t) {
		d := ParamDoc{Name: f.name, Type: typeName(f), Doc: f.doc}
		if f.required {
			d.Doc = strings.TrimSpace(d.Doc + " (required)")
		}
		out = append(out, d)
	}
	return out
}

func typeName(f paramField) string {
	switch {
	case f.enum != nil:
		return "one of " + strings.Join(f.enum, ", ")
	case f.typ == durationType:
		return "duration"
	case f.typ.Kind() == reflect.String:
		return "string"
	case f.typ.Kind() == reflect.Bool:
		return "bool"
	case f.typ.Kind() >= reflect.Int && f.typ.Kind() <= reflect.Uint64:
		return "integer"
	case f.typ.Kind() == reflect.Float32 || f.typ.Kind() == reflect.Float64:
		return "number"
	case f.typ.Kind() == reflect.Slice:
		return "list of strings"
	}
	return f.typ.String()
}
