package proxy_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/proxy"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

func TestParseFile(t *testing.T) {
	t.Parallel()
	good := `faults:
  - name: slow-keys
    kind: latency
    methods: [/pkg.KeyService/*]
    probability: 0.5
    params: {delay: 200ms, jitter: 50ms}
  - kind: abort
    params:
      code: PERMISSION_DENIED
`
	specs, err := proxy.ParseFile("f.yaml", []byte(good), proxy.GRPC)
	require.NoError(t, err)
	require.Len(t, specs, 2)
	assert.Equal(t, proxy.Spec{Name: "slow-keys", Kind: "latency", Methods: []string{"/pkg.KeyService/*"}, Probability: proxy.Chance(0.5),
		Params: proxy.Params{"delay": "200ms", "jitter": "50ms"}}, specs[0])
	assert.Equal(t, "abort", specs[1].Name)
	assert.Equal(t, 1.0, *specs[1].Probability)

	empty, err := proxy.ParseFile("f.yaml", []byte("faults:\n"), proxy.GRPC)
	require.NoError(t, err)
	assert.Empty(t, empty)

	tests := []struct {
		name, src, want string
	}{
		{"unknown top key", "fault: []", `f.yaml:1:1: unknown key "fault" in a faults file (did you mean "faults"?)`},
		{"not a list", "faults: {kind: reset}", "f.yaml:1:9: faults must be a list"},
		{"item not a mapping", "faults:\n  - reset", `f.yaml:2:5: a fault must be a mapping`},
		{"unknown key", "faults:\n  - kind: reset\n    probabilty: 1", `f.yaml:3:5: unknown key "probabilty" in a fault (did you mean "probability"?)`},
		{"key twice", "faults:\n  - kind: reset\n    kind: abort", "f.yaml:3:5: kind appears twice in a fault"},
		{"Kind in capitals", "faults:\n  - Kind: reset", `f.yaml:2:5: unknown key "Kind"`},
		{"unknown kind", "faults:\n  - kind: rest", `f.yaml:2:11: kind: unknown fault kind "rest" (did you mean "reset"?)`},
		{"probability out of range", "faults:\n  - kind: reset\n    probability: 2", "f.yaml:3:18: probability: must be between 0 and 1, got 2"},
		{"probability as text", "faults:\n  - kind: reset\n    probability: often", `f.yaml:3:18: probability must be a number between 0 and 1, got "often"`},
		{"bad param value", "faults:\n  - kind: latency\n    params:\n      delay: soon", `f.yaml:4:14: params.delay: bad duration "soon"`},
		{"unknown param", "faults:\n  - kind: latency\n    params:\n      delay: 1s\n      jiter: 1s", `f.yaml:5:7: params.jiter: unknown param of latency (did you mean "jitter"?)`},
		{"missing param", "faults:\n  - kind: latency\n    params: {jitter: 1s}", "f.yaml:3:5: params.delay: required"},
		{"missing param, no params", "faults:\n  - kind: abort", "f.yaml:2:5: params.code: required"},
		{"param a list", "faults:\n  - kind: latency\n    params: {delay: [1s]}", "f.yaml:3:21: params.delay must be a single value, got a list"},
		{"param key twice", "faults:\n  - kind: latency\n    params: {delay: 1s, delay: 2s}", "f.yaml:3:25: delay appears twice in params"},
		{"two of a name", "faults:\n  - kind: reset\n  - kind: reset", `f.yaml:3:5: two faults are named "reset"`},
		{"bad method", "faults:\n  - kind: reset\n    methods: [pkg.S/M]", "f.yaml:3:14: methods:"},
		{"alias", "faults:\n  - &a {kind: reset}\n  - *a", "f.yaml:3:5: aliases (*a) are not supported"},
		{"syntax", "faults:\n  - kind: [", "f.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := proxy.ParseFile("f.yaml", []byte(tt.src), proxy.GRPC)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, proxy.ErrInvalidFile)
			var ye *yamlfile.Error
			assert.True(t, errors.As(err, &ye))
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "faults.yaml")
	require.NoError(t, os.WriteFile(path, []byte("faults:\n  - kind: deadline\n    params: {timeout: 50ms}\n"), 0o600))
	specs, err := proxy.LoadFile(path, proxy.GRPC)
	require.NoError(t, err)
	require.Len(t, specs, 1)
	_, err = proxy.LoadFile(path, proxy.HTTP)
	assert.ErrorContains(t, err, path+":2:11: kind: deadline does not apply to an http proxy")
	_, err = proxy.LoadFile(filepath.Join(dir, "missing.yaml"), proxy.GRPC)
	assert.ErrorIs(t, err, os.ErrNotExist)
	// An endless file is refused at its cap, not read into memory.
	_, err = proxy.LoadFile("/dev/zero", proxy.GRPC)
	assert.EqualError(t, err, "/dev/zero: the faults file is larger than 1 MiB, its size limit")
}
