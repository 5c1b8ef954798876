package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportAudit(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		var buf bytes.Buffer
		require.NoError(t, ExportAudit(s, &buf))
		assert.Empty(t, buf.String(), "an empty log exports nothing")

		require.NoError(t, s.Commit(context.Background(), Batch{Audit: []AuditRecord{newAudit("r1"), newAudit("r2")}}))
		require.NoError(t, s.Commit(context.Background(), Batch{Audit: []AuditRecord{newAudit("r3")}}))
		require.NoError(t, ExportAudit(s, &buf))

		sc := bufio.NewScanner(&buf)
		var got []AuditRecord
		for sc.Scan() {
			var rec AuditRecord
			require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %q", sc.Text())
			got = append(got, rec)
		}
		require.Len(t, got, 3)
		for i, id := range []string{"r1", "r2", "r3"} {
			assert.Equal(t, uint64(i+1), got[i].Seq)
			assert.Equal(t, id, got[i].RequestID)
		}
	})
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestExportAuditErrors(t *testing.T) {
	s := NewMemory()
	require.NoError(t, s.Commit(context.Background(), Batch{Audit: []AuditRecord{newAudit("r1")}}))
	require.ErrorContains(t, ExportAudit(s, failingWriter{}), "disk full")

	require.NoError(t, s.Close())
	require.ErrorIs(t, ExportAudit(s, &bytes.Buffer{}), ErrClosed)
}
