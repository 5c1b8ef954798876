package store

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDamageUnderARunningStore damages the file of an open store, as a
// failing disk or a stray process can: the reads and commits that meet the
// damage fail with an error naming the file (bbolt panics on the damaged
// page, or faults past the end of the cut file), the process stays up,
// and the store logs the failure once.
func TestDamageUnderARunningStore(t *testing.T) {
	img := buildImage(t)
	tests := []struct {
		name   string
		damage func(t *testing.T, f *os.File)
	}{
		{"a leaf page zeroed", func(t *testing.T, f *os.File) {
			at := liveOffset(t, img, "\x0a\x09req-05-07")
			page := at / img.pageSize * img.pageSize
			_, err := f.WriteAt(make([]byte, img.pageSize), int64(page))
			require.NoError(t, err)
		}},
		{"the file cut to two pages", func(t *testing.T, f *os.File) {
			require.NoError(t, f.Truncate(int64(2*img.pageSize)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, fileName)
			require.NoError(t, os.WriteFile(path, img.raw, 0o600))
			var log syncBuffer
			s, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			require.NoError(t, err)
			_, err = s.Request("req-05-07")
			require.NoError(t, err)

			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			require.NoError(t, err)
			tt.damage(t, f)
			require.NoError(t, f.Close())

			_, err = s.Request("req-05-07")
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Contains(t, err.Error(), path)
			err = s.Requests(func(*jitv1.AccessRequest) bool { return true })
			require.ErrorIs(t, err, ErrCorrupt)

			r := newRequest("req-05-07")
			r.Revision = 9
			err = s.Commit(context.Background(), Batch{Requests: []*jitv1.AccessRequest{r}})
			require.ErrorIs(t, err, ErrFailed)
			assert.Contains(t, err.Error(), path)
			require.ErrorIs(t, s.Commit(context.Background(), Batch{Requests: []*jitv1.AccessRequest{newRequest("next")}}), ErrFailed,
				"a failed store stays failed")

			logged := log.String()
			assert.Contains(t, logged, "the data file is damaged")
			assert.Contains(t, logged, "a write failed")
			assert.Equal(t, 2, bytes.Count([]byte(logged), []byte("\n")), "each logged once: %s", logged)

			// Close returns, whatever bbolt was left holding, and releases
			// the directory: the next Open finds the damage, not a lock.
			if err := s.Close(); err != nil {
				require.ErrorIs(t, err, ErrFailed)
			}
			_, err = Open(dir, Options{})
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}
