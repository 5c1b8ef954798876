package fakes

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testParams struct {
	Name     string        `param:"name,required" enum:"a|b" doc:"a name"`
	Wait     time.Duration `param:"wait" doc:"a wait"`
	Count    int           `param:"count" doc:"a count"`
	Share    float64       `param:"share" doc:"a share"`
	On       bool          `param:"on" doc:"a switch"`
	List     []string      `param:"list" doc:"a list"`
	Internal string        // untagged: never decoded
}

func TestDecodeParams(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]any
		want    testParams
		wantKey string // the key a *ParamError names; "" means no error
		wantMsg string
	}{
		{name: "all YAML-ish types", params: map[string]any{
			"name": "a", "wait": "2m30s", "count": 3, "share": 0.25, "on": true, "list": []any{"x", "y"}},
			want: testParams{Name: "a", Wait: 150 * time.Second, Count: 3, Share: 0.25, On: true, List: []string{"x", "y"}}},
		{name: "JSON numbers", params: map[string]any{"name": "b", "count": float64(4), "share": 1}, want: testParams{Name: "b", Count: 4, Share: 1}},
		{name: "other Go numerics", params: map[string]any{"name": "b", "count": uint8(5), "share": float32(0.5)}, want: testParams{Name: "b", Count: 5, Share: 0.5}},
		{name: "duration zero as a number", params: map[string]any{"name": "a", "wait": 0}, want: testParams{Name: "a"}},
		{name: "duration from Go", params: map[string]any{"name": "a", "wait": time.Second}, want: testParams{Name: "a", Wait: time.Second}},
		{name: "negative duration", params: map[string]any{"name": "a", "wait": "-1s"}, want: testParams{Name: "a", Wait: -time.Second}},
		{name: "string list from Go", params: map[string]any{"name": "a", "list": []string{"z"}}, want: testParams{Name: "a", List: []string{"z"}}},

		{name: "unknown key", params: map[string]any{"name": "a", "nmae": "a"}, wantKey: "nmae", wantMsg: "unknown param (known: count, list, name, on, share, wait)"},
		{name: "untagged field is unknown", params: map[string]any{"name": "a", "Internal": "x"}, wantKey: "Internal"},
		{name: "missing required", params: map[string]any{}, wantKey: "name", wantMsg: "required"},
		{name: "nil params, missing required", params: nil, wantKey: "name"},
		{name: "outside enum", params: map[string]any{"name": "c"}, wantKey: "name", wantMsg: `"c" is not one of a, b`},
		{name: "string wanted", params: map[string]any{"name": 1}, wantKey: "name", wantMsg: "want a string, got the number 1"},
		{name: "duration without unit", params: map[string]any{"name": "a", "wait": 5}, wantKey: "wait", wantMsg: `want a duration with a unit, like "2m" or "250ms", got the number 5`},
		{name: "bad duration", params: map[string]any{"name": "a", "wait": "2 minutes"}, wantKey: "wait", wantMsg: `want a duration like "2m" or "250ms", got "2 minutes"`},
		{name: "duration as bool", params: map[string]any{"name": "a", "wait": true}, wantKey: "wait"},
		{name: "fractional int", params: map[string]any{"name": "a", "count": 1.5}, wantKey: "count", wantMsg: "want a whole number, got the number 1.5"},
		{name: "int as string", params: map[string]any{"name": "a", "count": "3"}, wantKey: "count", wantMsg: `want a whole number, got the string "3"`},
		{name: "float as string", params: map[string]any{"name": "a", "share": "0.5"}, wantKey: "share"},
		{name: "bool as string", params: map[string]any{"name": "a", "on": "yes"}, wantKey: "on", wantMsg: `want true or false, got the string "yes"`},
		{name: "list as string", params: map[string]any{"name": "a", "list": "x"}, wantKey: "list", wantMsg: `want a list of strings, got the string "x"`},
		{name: "list item not a string", params: map[string]any{"name": "a", "list": []any{"x", 2}}, wantKey: "list", wantMsg: "item 1: want a string, got the number 2"},
		{name: "mapping", params: map[string]any{"name": "a", "on": map[string]any{}}, wantKey: "on", wantMsg: "want true or false, got a mapping"},
		{name: "empty value", params: map[string]any{"name": "a", "wait": nil}, wantKey: "wait", wantMsg: "has no value"},
		{name: "first error is stable", params: map[string]any{"name": "a", "zz": 1, "aa": 1}, wantKey: "aa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got testParams
			err := decodeParams(tt.params, &got)
			if tt.wantKey == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			var pe *ParamError
			require.True(t, errors.As(err, &pe), "want a *ParamError, got %v", err)
			assert.Equal(t, tt.wantKey, pe.Key)
			if tt.wantMsg != "" {
				assert.Equal(t, tt.wantMsg, pe.Msg)
			}
			assert.Contains(t, err.Error(), `"`+tt.wantKey+`"`, "the message names the key")
		})
	}
}

func TestDecodeParamsNoParamsStruct(t *testing.T) {
	err := decodeParams(map[string]any{"x": 1}, &struct{}{})
	assert.EqualError(t, err, `param "x": unknown param (this fault takes none)`)
	assert.EqualError(t, &ParamError{Msg: "whole"}, "params: whole")
	assert.Panics(t, func() { _ = decodeParams(nil, testParams{}) })
}

func TestParamDocs(t *testing.T) {
	assert.Equal(t, []ParamDoc{
		{Name: "name", Type: "one of a, b", Doc: "a name (required)"},
		{Name: "wait", Type: "duration", Doc: "a wait"},
		{Name: "count", Type: "integer", Doc: "a count"},
		{Name: "share", Type: "number", Doc: "a share"},
		{Name: "on", Type: "bool", Doc: "a switch"},
		{Name: "list", Type: "list of strings", Doc: "a list"},
	}, paramDocs(&testParams{}))
}
