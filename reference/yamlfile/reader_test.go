package yamlfile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

var errBad = errors.New("bad test file")

func newReader() *yamlfile.Reader {
	return &yamlfile.Reader{File: "f.yaml", Err: errBad, Kind: "test files", Hints: true}
}

// value parses src and returns the node under "v" in its root mapping.
func value(t *testing.T, src string) *yaml.Node {
	t.Helper()
	root, err := newReader().Load([]byte(src), 8, nil)
	require.NoError(t, err)
	require.Equal(t, yaml.MappingNode, root.Kind)
	require.Equal(t, "v", root.Content[0].Value)
	return root.Content[1]
}

// TestReaders reads one value with each shared reader: what it returns, or
// the error at the value's position.
func TestReaders(t *testing.T) {
	fields := func(r *yamlfile.Reader, n *yaml.Node) (any, error) {
		var got []string
		err := r.Mapping(n, "m", []yamlfile.Field{
			{Name: "alpha", Read: func(k, v *yaml.Node) error { got = append(got, k.Value+"="+v.Value); return nil }},
			{Name: "beta", Read: func(_, v *yaml.Node) error { return r.At(v, "beta refused") }},
			{Name: "gamma", Read: func(k, v *yaml.Node) error { got = append(got, k.Value+"="+v.Value); return nil }},
		})
		return got, err
	}
	known := func(r *yamlfile.Reader, n *yaml.Node) (any, error) {
		m, err := r.Fields(n, "m", []string{"alpha", "gamma"})
		out := map[string]string{}
		for k, v := range m {
			out[k] = v.Value
		}
		return out, err
	}
	pairs := func(r *yamlfile.Reader, n *yaml.Node) (any, error) {
		p, err := r.Pairs(n, "m")
		var out []string
		for _, kv := range p {
			out = append(out, kv[0].Value+"="+kv[1].Value)
		}
		return out, err
	}
	str := func(r *yamlfile.Reader, n *yaml.Node) (any, error) { return r.Str(n, "s") }
	list := func(r *yamlfile.Reader, n *yaml.Node) (any, error) { return r.StrList(n, "l") }
	duration := func(r *yamlfile.Reader, n *yaml.Node) (any, error) { return r.Duration(n, "d") }
	integer := func(r *yamlfile.Reader, n *yaml.Node) (any, error) { return r.Integer(n, "i") }
	boolean := func(r *yamlfile.Reader, n *yaml.Node) (any, error) { return r.Bool(n, "b") }

	tests := []struct {
		name    string
		src     string
		read    func(*yamlfile.Reader, *yaml.Node) (any, error)
		want    any
		wantErr string
	}{
		{"mapping in file order", "v: {gamma: 1, alpha: 2}", fields, []string{"gamma=1", "alpha=2"}, ""},
		{"mapping null", "v:", fields, []string(nil), ""},
		{"mapping read error", "v: {alpha: 1, beta: 2}", fields, []string{"alpha=1"}, "f.yaml:1:21: beta refused"},
		{"mapping unknown key with hint", "v:\n  alpah: 1", fields, []string(nil),
			`f.yaml:2:3: unknown key "alpah" in m (did you mean "alpha"?); known keys: alpha, beta, gamma`},
		{"mapping unknown key far from all", "v: {zzz: 1}", fields, []string(nil), `f.yaml:1:5: unknown key "zzz" in m; known keys: alpha, beta, gamma`},
		{"mapping repeated key", "v: {alpha: 1, alpha: 2}", fields, []string{"alpha=1"}, "f.yaml:1:15: alpha appears twice in m"},
		{"mapping key not a word", "v: {[a]: 1}", fields, []string(nil), "f.yaml:1:5: a key in m must be a word, got a list"},
		{"mapping of a list", "v: [1]", fields, []string(nil), "f.yaml:1:4: m must be a mapping of keys, got a list"},
		{"fields", "v: {gamma: x}", known, map[string]string{"gamma": "x"}, ""},
		{"fields null", "v: ~", known, map[string]string{}, ""},
		{"fields unknown key", "v: {beta: x}", known, map[string]string{}, `f.yaml:1:5: unknown key "beta" in m; known keys: alpha, gamma`},
		{"pairs", "v: {b: 1, a: 2}", pairs, []string{"b=1", "a=2"}, ""},
		{"pairs repeated", "v: {a: 1, a: 2}", pairs, []string(nil), "f.yaml:1:11: a appears twice in m"},
		{"pairs of a scalar", "v: 3", pairs, []string(nil), "f.yaml:1:4: m must be a mapping, got the number 3"},
		{"str", "v: hello", str, "hello", ""},
		{"str null", "v: null", str, "", ""},
		{"str of a mapping", "v: {a: 1}", str, "", "f.yaml:1:4: s must be a single value, got a mapping"},
		{"list", "v: [a, 2]", list, []string{"a", "2"}, ""},
		{"list null", "v:", list, []string(nil), ""},
		{"list of a scalar", "v: clock", list, []string(nil), `f.yaml:1:4: l must be a list such as [a, b], got "clock"`},
		{"list with a null item", "v: [a, ~]", list, []string(nil), "f.yaml:1:8: each of l must be a single value, got nothing"},
		{"duration", "v: 1h30m", duration, 90 * time.Minute, ""},
		{"duration null", "v:", duration, time.Duration(0), ""},
		{"duration bad", "v: 2 minutes", duration, time.Duration(0),
			`f.yaml:1:4: bad duration "2 minutes" for d: write a number and a unit, such as 300ms, 30s, 2m or 1h30m`},
		{"duration empty text", `v: ""`, duration, time.Duration(0),
			`f.yaml:1:4: bad duration "" for d: write a number and a unit, such as 300ms, 30s, 2m or 1h30m`},
		{"duration negative", "v: -5s", duration, time.Duration(0), "f.yaml:1:4: d must not be negative, got -5s"},
		{"duration of a list", "v: [1s]", duration, time.Duration(0), "f.yaml:1:4: d must be a duration such as 300ms, 30s or 2m, got a list"},
		{"integer", "v: -42", integer, int64(-42), ""},
		{"integer float", "v: 1.5", integer, int64(0), "f.yaml:1:4: i must be a whole number, got the number 1.5"},
		{"integer hex", "v: 0x10", integer, int64(0), "f.yaml:1:4: i must be a whole number written in decimal, got 0x10"},
		{"bool", "v: true", boolean, true, ""},
		{"bool null", "v:", boolean, false, ""},
		{"bool text", "v: yes please", boolean, false, `f.yaml:1:4: b must be true or false, got "yes please"`},
		{"bool tagged word", "v: !!bool yes", boolean, false, "f.yaml:1:4: b must be true or false, got the boolean yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.read(newReader(), value(t, tt.src))
			assert.Equal(t, tt.want, got)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
			assert.ErrorIs(t, err, errBad)
		})
	}
}

// TestLoad checks what Load refuses, and that syntax errors are placed at
// the parser's mark and handed to reword.
func TestLoad(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax with context", "a: {b: 1\nc: 2\n", "f.yaml:2:2: did not find expected ',' or '}' (while parsing a flow mapping) [reworded]"},
		{"empty", "", "f.yaml:1:1: no documents in stream [reworded]"},
		{"two documents", "a: 1\n---\nb: 2\n", "f.yaml:1:1: expected single document, found multiple [reworded]"},
		{"alias", "a: &x 1\nb: *x\n", "f.yaml:2:4: aliases (*x) are not supported in test files: write the value out"},
		{"too deep", "a: " + strings.Repeat("[", 4) + strings.Repeat("]", 4) + "\n", "f.yaml:1:7: the file nests deeper than 3 levels"},
		{"deep enough", "a: [[]]\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := newReader().Load([]byte(tt.src), 3, func(e *yamlfile.Error) { e.Msg += " [reworded]" })
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, yaml.MappingNode, root.Kind, "the document node is unwrapped")
				return
			}
			require.EqualError(t, err, tt.want)
			assert.Nil(t, root)
			var e *yamlfile.Error
			require.ErrorAs(t, err, &e)
			assert.ErrorIs(t, err, errBad)
		})
	}
}

// TestErrorPlacement checks At and LoadError where a node or mark has no position.
func TestErrorPlacement(t *testing.T) {
	r := &yamlfile.Reader{File: "p.yaml", Err: errBad}
	assert.EqualError(t, r.At(nil, "no node %d", 1), "p.yaml:1:1: no node 1")
	assert.EqualError(t, r.At(&yaml.Node{}, "no position"), "p.yaml:1:1: no position")
	at := &yaml.Node{Line: 4, Column: 7}
	assert.EqualError(t, r.LoadError(fmt.Errorf("yaml: plain"), at), "p.yaml:4:7: plain", "not a LoadError: at the fallback node")
	e := r.LoadError(&yaml.LoadError{Message: "yaml: marked", Mark: yaml.Mark{Line: 2}}, at)
	assert.EqualError(t, e, "p.yaml:2:1: marked", "an unknown column is 1")
	assert.Equal(t, errBad, errors.Unwrap(e))
	assert.NotErrorIs(t, e, errors.New("bad test file"), "the sentinel is the reader's, not its text")

	noKind := &yamlfile.Reader{File: "k.yaml"}
	_, err := noKind.Load([]byte("a: &x 1\nb: *x\n"), 8, nil)
	assert.EqualError(t, err, "k.yaml:2:4: aliases (*x) are not supported: write the value out")
	assert.NoError(t, errors.Unwrap(err), "no sentinel set, none wrapped")
}

func TestDescribe(t *testing.T) {
	tests := []struct{ src, want string }{
		{"v:", "nothing"},
		{"v: ~", "nothing"},
		{"v: {a: 1}", "a mapping"},
		{"v: [1]", "a list"},
		{"v: 3", "the number 3"},
		{"v: 2.5", "the number 2.5"},
		{"v: false", "the boolean false"},
		{`v: say "hi"`, `"say \"hi\""`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Equal(t, tt.want, yamlfile.Describe(value(t, tt.src)))
		})
	}
	assert.Equal(t, "nothing", yamlfile.Describe(nil))
	assert.True(t, yamlfile.IsNull(nil))
	assert.Equal(t, "an alias", yamlfile.Describe(&yaml.Node{Kind: yaml.AliasNode, Value: "x"}))
}

func TestSuggest(t *testing.T) {
	words := []string{"leeway", "algorithms", "max_staleness", "SkewSeen"}
	tests := []struct{ got, want string }{
		{"leway", "leeway"},
		{"ALGORITHMS", "algorithms"},
		{"Skew", "SkewSeen"},
		{"max_stalenes", "max_staleness"},
		{"xyz", ""},
		{strings.Repeat("a", 65), ""},
	}
	for _, tt := range tests {
		t.Run(tt.got, func(t *testing.T) {
			assert.Equal(t, tt.want, yamlfile.Suggest(tt.got, words))
		})
	}
	assert.Equal(t, ` (did you mean "leeway"?)`, yamlfile.DidYouMean("leway", words))
	assert.Empty(t, yamlfile.DidYouMean("leeway", words), "no hint for the word itself")
	assert.Empty(t, yamlfile.Suggest("abc", nil))
}
