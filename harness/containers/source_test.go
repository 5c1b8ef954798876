package containers_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/containers"
)

func TestFindModule(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	got, ok := containers.FindModule(".")
	require.True(t, ok, "this package is in the jitbench module")
	assert.Equal(t, root, got)

	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n\ngo 1.26\n"), 0o600))
	_, ok = containers.FindModule(filepath.Join(other))
	assert.False(t, ok, "another module's go.mod is not jitbench's")

	checkout := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(checkout, "go.mod"), []byte("// a fork\nmodule \"github.com/jitbench/jitbench\"\n"), 0o600))
	deep := filepath.Join(checkout, "harness", "containers")
	require.NoError(t, os.MkdirAll(deep, 0o755))
	got, ok = containers.FindModule(deep)
	require.True(t, ok, "found by walking up")
	assert.Equal(t, checkout, got)
}

func TestIsStatic(t *testing.T) {
	dynamic, err := containers.IsStatic("/bin/sh")
	require.NoError(t, err)
	assert.False(t, dynamic, "/bin/sh names the dynamic loader")

	_, err = containers.IsStatic(filepath.Join("..", "..", "go.mod"))
	assert.Error(t, err, "not an ELF file")

	requireDocker(t) // builds the static binary the images hold
	static, err := containers.IsStatic(filepath.Join(binDir, "jitbench"))
	require.NoError(t, err)
	assert.True(t, static, "CGO_ENABLED=0: it runs FROM scratch")
}
