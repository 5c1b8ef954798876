package containers

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Makefile labels images with `cat jitbench role.Dockerfile | sha256sum | cut -c1-16`;
// EnsureImages must compute the same, or it would rebuild what make images built.
func TestContentHashMatchesTheMakefile(t *testing.T) {
	// printf 'BINARYDOCKERFILE' | sha256sum | cut -c1-16
	assert.Equal(t, "8336a4060ae2e9b8", contentHash([]byte("BINARY"), []byte("DOCKERFILE")))
	assert.NotEqual(t, contentHash([]byte("BINARY"), []byte("DOCKERFILE")), contentHash([]byte("BINARY!"), []byte("DOCKERFILE")))
}

func TestWriteContext(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writeContext(&buf, []byte("FROM scratch\n"), []byte("\x7fELF")))
	tr := tar.NewReader(&buf)
	got := map[string]string{}
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		got[h.Name], modes[h.Name] = string(b), h.Mode
	}
	assert.Equal(t, map[string]string{"Dockerfile": "FROM scratch\n", "jitbench": "\x7fELF"}, got)
	assert.Equal(t, int64(0o755), modes["jitbench"], "the binary is executable")
}

func TestReadBuildOutput(t *testing.T) {
	tests := []struct {
		name, out, err string
	}{
		{"success", `{"stream":"Step 1/4 : FROM scratch\n"}{"stream":"Successfully built 1234\n"}`, ""},
		{"engine error", `{"stream":"Step 1/4 : FROM scratch\n"}{"stream":"Step 2/4 : COPY jitbench /jitbench\n"}{"error":"COPY failed: no such file","errorDetail":{"message":"COPY failed"}}`,
			"COPY failed: no such file (after: Step 1/4 : FROM scratch | Step 2/4 : COPY jitbench /jitbench)"},
		{"garbage", `not json`, "read the build output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readBuildOutput(strings.NewReader(tt.out))
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.err)
		})
	}
}
