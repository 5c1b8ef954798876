package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// fuzzMaxFile bounds the files FuzzOpen tries: a store of a few pages
// exercises every check, and large inputs only slow the fuzzer down.
const fuzzMaxFile = 1 << 20

// FuzzOpen opens damaged store files: Open must never panic or crash, and
// must either refuse the file with ErrCorrupt in one printable line, or
// open a store that reads back whole, takes a commit and reopens.
//
// The seeds are a real small store's bytes, cut short, with each page
// zeroed, and with bits flipped in each page.
func FuzzOpen(f *testing.F) {
	raw := smallStore(f)
	const pageSize = fuzzPageSize
	f.Add(raw)
	f.Add([]byte{})
	for _, n := range []int{1, 64, pageSize, 2 * pageSize, len(raw) / 2, len(raw) - 1} {
		f.Add(raw[:n])
	}
	for off := 0; off < len(raw); off += pageSize {
		f.Add(with(raw, func(b []byte) []byte { clear(b[off : off+pageSize]); return b }))
		at := off + 40 + off/pageSize*97%(pageSize-40)
		f.Add(with(raw, func(b []byte) []byte { b[at] ^= 0x10; return b }))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxFile {
			t.Skip()
		}
		dir := t.TempDir()
		path := filepath.Join(dir, fileName)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		s, err := Open(dir, Options{NoFsync: true})
		if err != nil {
			assertRefused(t, err, path)
			return
		}
		dump(t, s)
		ctx := context.Background()
		require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{newRequest("fuzz")}, Audit: []AuditRecord{newAudit("fuzz")}}))
		require.NoError(t, s.Close())

		s, err = Open(dir, Options{NoFsync: true})
		require.NoError(t, err, "a store that opened and took a commit reopens")
		defer s.Close()
		_, err = s.Request("fuzz")
		assert.NoError(t, err)
		dump(t, s)
	})
}

// fuzzPageSize is the seed store's page size: bbolt's smallest, so that
// the seeds are small and the fuzzer's minimizing of them quick.
const fuzzPageSize = 1024

// smallStore returns the file of a small real store, with pages of
// fuzzPageSize: a few requests, revocations and audit records over
// several commits. The file is cut at its high water mark: bbolt's slack
// past it only makes the seeds longer.
func smallStore(tb testing.TB) []byte {
	tb.Helper()
	dir := tb.TempDir()
	path := filepath.Join(dir, fileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: fuzzPageSize})
	require.NoError(tb, err)
	require.NoError(tb, db.Update(func(tx *bolt.Tx) error {
		for _, name := range append([][]byte{bucketMeta}, dataBuckets...) {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, seqKey(schemaVersion))
	}))
	require.NoError(tb, db.Close())

	s, err := Open(dir, Options{NoFsync: true})
	require.NoError(tb, err)
	for i, id := range ids("r", 6) {
		b := Batch{Requests: []*jitv1.AccessRequest{newRequest(id)}, Audit: []AuditRecord{newAudit(id)}}
		if i%2 == 0 {
			b.Revocations = []*jitv1.RevocationEvent{newRevocation("g-" + id)}
		}
		require.NoError(tb, s.Commit(context.Background(), b))
	}
	require.NoError(tb, s.Close())
	raw, err := os.ReadFile(path)
	require.NoError(tb, err)
	f, err := os.Open(path)
	require.NoError(tb, err)
	defer f.Close()
	m, err := (&fileChecker{r: f}).meta(uint64(len(raw)))
	require.NoError(tb, err)
	require.Equal(tb, uint64(fuzzPageSize), m.pageSize)
	return raw[:m.pgid*m.pageSize]
}
