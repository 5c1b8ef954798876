package harness

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/scenarios"
)

// zooTarget starts kind's correct build as a process of its own and
// returns its target config, written as a user would write it.
func zooTarget(t *testing.T, kind zoo.Kind) *conformance.Config {
	t.Helper()
	dir := t.TempDir()
	_, err := zoo.GenerateKeys(kind, dir)
	require.NoError(t, err)
	path, err := zoo.WriteTargetConfig(kind, dir, "127.0.0.1:1")
	require.NoError(t, err)
	cfg, err := conformance.LoadConfig(path)
	require.NoError(t, err)
	opts := zoo.ProcessOptions{Kind: kind, Bug: zoo.None, KeysDir: dir}
	if served, ok := cfg.KeySource.(*conformance.ServedKeys); ok {
		require.NoError(t, served.Start())
		t.Cleanup(func() { _ = served.Close() })
		opts.JWKSURL = served.URL()
	}
	p, err := zoo.StartProcess(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop() })
	cfg.Address = p.Addr
	return cfg
}

func TestExternalSmoke(t *testing.T) {
	for _, kind := range []zoo.Kind{zoo.MethodsList, zoo.OAuthScope} {
		t.Run(string(kind), func(t *testing.T) {
			cfg := zooTarget(t, kind)
			sc, err := scenarios.Parse("ok.yaml", []byte("name: ok\nsummary: s.\nload: {calls: 5}\nexpect: {codes: {OK: 100%}}\n"), scenarios.LoadOptions{})
			require.NoError(t, err)
			rep := Run(t, sc, WithTarget(cfg))
			require.NotNil(t, rep)
			t.Logf("%+v", rep.Codes)
			sc, err = scenarios.Parse("miss.yaml", []byte("name: miss\nsummary: s.\nfaults: [{kind: credentials-missing, credential: both}]\nload: {calls: 5}\nexpect: {codes: {UNAUTHENTICATED: 100%}}\n"), scenarios.LoadOptions{})
			require.NoError(t, err)
			rep = Run(t, sc, WithTarget(cfg))
			require.NotNil(t, rep)
			t.Logf("%+v %+v", rep.Codes, rep.TopDenial)
		})
	}
}
