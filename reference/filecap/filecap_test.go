package filecap_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/filecap"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	require.NoError(t, os.WriteFile(small, []byte("a: 1\n"), 0o600))
	exact := filepath.Join(dir, "exact.yaml")
	require.NoError(t, os.WriteFile(exact, make([]byte, 16), 0o600))
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, make([]byte, 17), 0o600))
	l := filecap.Limit{Kind: "test file", Bytes: 16}

	tests := []struct {
		name, path string
		want       int
		tooLarge   bool
		errHas     string
	}{
		{name: "small", path: small, want: 5},
		{name: "at the cap", path: exact, want: 16},
		{name: "over the cap", path: big, tooLarge: true, errHas: big + ": the test file is larger than 16 bytes, its size limit"},
		{name: "endless device", path: "/dev/zero", tooLarge: true, errHas: "/dev/zero: the test file is larger than 16 bytes"},
		{name: "missing", path: filepath.Join(dir, "nope"), errHas: "nope: no such file or directory"},
		{name: "directory", path: dir, errHas: dir + ": is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := filecap.ReadFile(tt.path, l)
			if tt.errHas == "" {
				require.NoError(t, err)
				assert.Len(t, data, tt.want)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.errHas)
			assert.Equal(t, 1, strings.Count(err.Error(), tt.path), "the path is named once: %s", err)
			var tl *filecap.TooLargeError
			assert.Equal(t, tt.tooLarge, errors.As(err, &tl))
		})
	}
}

func TestRead(t *testing.T) {
	l := filecap.Limit{Kind: "result file", Bytes: 3}
	data, err := filecap.Read(strings.NewReader("abc"), "-", l)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(data))
	_, err = filecap.Read(strings.NewReader("abcd"), "stdin", l)
	assert.EqualError(t, err, "stdin: the result file is larger than 3 bytes, its size limit")
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		1 << 20: "1 MiB", 256 << 20: "256 MiB", 1 << 30: "1 GiB", 2048: "2 KiB", 1500: "1500 bytes", 0: "0 bytes",
	} {
		assert.Equal(t, want, filecap.Size(n))
	}
}
