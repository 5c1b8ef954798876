package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// openT opens the durable store in dir and closes it at the end of the test.
func openT(t *testing.T, dir string) Store {
	t.Helper()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestDurableSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openT(t, dir)
	req, rev, rec := newRequest("r1"), newRevocation("g-r1"), newAudit("r1")
	require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{req}, Revocations: []*jitv1.RevocationEvent{rev}, Audit: []AuditRecord{rec}}))
	require.NoError(t, s.Close())

	s = openT(t, dir)
	got, err := s.Request("r1")
	require.NoError(t, err)
	assert.Empty(t, cmpProto(req, got))
	revs := allRevocations(t, s, 0)
	require.Len(t, revs, 1)
	assert.Empty(t, cmpProto(rev, revs[0]))
	recs := allAudit(t, s, 0)
	require.Len(t, recs, 1)
	assert.Equal(t, uint64(1), recs[0].Seq)
	assert.True(t, rec.At.Equal(recs[0].At))
}

func TestDurableSequencesAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var revSeqs, auditSeqs []uint64
	for range 3 {
		s, err := Open(dir, Options{})
		require.NoError(t, err)
		for range 2 {
			b := Batch{Revocations: []*jitv1.RevocationEvent{newRevocation("g")}, Audit: []AuditRecord{newAudit("r"), newAudit("r")}}
			require.NoError(t, s.Commit(ctx, b))
			revSeqs = append(revSeqs, b.Revocations[0].GetSequence())
			auditSeqs = append(auditSeqs, b.Audit[0].Seq, b.Audit[1].Seq)
		}
		require.NoError(t, s.Close())
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6}, revSeqs)
	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, auditSeqs)
}

// TestDurableStoredBytes pins the on-disk encoding, which other tools
// (bbolt's CLI, a future migration, an outside audit checker) read without
// this package.
func TestDurableStoredBytes(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	rec := newAudit("r1")
	require.NoError(t, s.Commit(context.Background(), Batch{
		Requests:    []*jitv1.AccessRequest{newRequest("r1")},
		Revocations: []*jitv1.RevocationEvent{newRevocation("g")},
		Audit:       []AuditRecord{newAudit("r0"), rec},
	}))
	require.NoError(t, s.Close())

	db, err := bolt.Open(filepath.Join(dir, fileName), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		assert.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 2}, tx.Bucket(bucketMeta).Get(keySchema))

		// Audit: SHA-256(previous hash || canonical JSON), then the JSON.
		first, second := tx.Bucket(bucketAudit).Get(seqKey(1)), tx.Bucket(bucketAudit).Get(seqKey(2))
		canonical := `{"seq":2,"at":"2026-03-01T09:30:00.123456789Z","request_id":"r1","actor":"bob","action":"approved","from":"PENDING","to":"APPROVED","reason":"looks fine","approval_latency_ns":1500000000,"grant_id":"g-r1"}`
		assert.Equal(t, canonical, string(second[32:]))
		h := sha256.New()
		h.Write(first[:32])
		h.Write([]byte(canonical))
		assert.Equal(t, h.Sum(nil), second[:32])
		h.Reset()
		h.Write(make([]byte, 32))
		h.Write(first[32:])
		assert.Equal(t, h.Sum(nil), first[:32], "record 1 chains to 32 zero bytes")

		// Requests and revocations: CRC-32C (Castagnoli) over uvarint(len(key)) || key || payload, big-endian, then the payload.
		crc := func(key, payload []byte) []byte {
			sum := crc32.Update(0, crc32.MakeTable(crc32.Castagnoli), append([]byte{byte(len(key))}, key...))
			return binary.BigEndian.AppendUint32(nil, crc32.Update(sum, crc32.MakeTable(crc32.Castagnoli), payload))
		}
		req := tx.Bucket(bucketRequests).Get([]byte("r1"))
		assert.Equal(t, crc([]byte("r1"), req[4:]), req[:4])
		var got jitv1.AccessRequest
		require.NoError(t, proto.Unmarshal(req[4:], &got))
		assert.Empty(t, cmpProto(newRequest("r1"), &got))
		rev := tx.Bucket(bucketRevocations).Get(seqKey(1))
		assert.Equal(t, crc(seqKey(1), rev[4:]), rev[:4])
		var ev jitv1.RevocationEvent
		require.NoError(t, proto.Unmarshal(rev[4:], &ev))
		assert.Equal(t, uint64(1), ev.GetSequence(), "the stored event carries its sequence")
		return nil
	}))
}

func TestDurableConcurrentCommitsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	const workers, each = 64, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, id := range ids(fmt.Sprintf("w%02d", w), each) {
				b := Batch{Requests: []*jitv1.AccessRequest{newRequest(id)}, Revocations: []*jitv1.RevocationEvent{newRevocation("g-" + id)}, Audit: []AuditRecord{newAudit(id)}}
				if !assert.NoError(t, s.Commit(context.Background(), b)) {
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close())

	s = openT(t, dir)
	got := allRequests(t, s)
	assert.Len(t, got, workers*each)
	for w := range workers {
		for _, id := range ids(fmt.Sprintf("w%02d", w), each) {
			assert.Contains(t, got, id)
		}
	}
	revs := allRevocations(t, s, 0)
	require.Len(t, revs, workers*each)
	for i, ev := range revs {
		assert.Equal(t, uint64(i+1), ev.GetSequence(), "gapless feed")
	}
	assert.Len(t, allAudit(t, s, 0), workers*each)
}

// TestDurableReadsPage walks more than one read page, with a commit
// landing in the middle of the walk.
func TestDurableReadsPage(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	const n = 2*readPage + 7
	b := Batch{}
	for _, id := range ids("r", n) {
		b.Requests = append(b.Requests, newRequest(id))
		b.Audit = append(b.Audit, newAudit(id))
	}
	require.NoError(t, s.Commit(ctx, b))

	seen := make(map[string]int)
	require.NoError(t, s.Requests(func(r *jitv1.AccessRequest) bool {
		seen[r.GetId()]++
		if len(seen) == readPage+1 {
			require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{newRequest("r-0000"), newRequest("z-late")}}))
		}
		return true
	}))
	for id, count := range seen {
		assert.Equal(t, 1, count, "request %s seen %d times", id, count)
	}
	assert.Len(t, seen, n+1, "z-late sorts after the page being read")

	var last uint64
	require.NoError(t, s.Audit(0, func(rec AuditRecord) bool {
		assert.Equal(t, last+1, rec.Seq)
		last = rec.Seq
		return true
	}))
	assert.Equal(t, uint64(n), last)
}

func TestDurableCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	openT(t, dir)
	info, err := os.Stat(filepath.Join(dir, fileName))
	require.NoError(t, err)
	assert.True(t, info.Mode().IsRegular())
}

// TestDurableNewFileIsComplete: a new store appears whole or not at all
// (built aside and linked into place), so a bbolt file without the
// store's buckets is not a crash artifact of the first Open but another
// program's file, refused like any other.
func TestDurableNewFileIsComplete(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
	assert.Equal(t, fileName, entries[0].Name())

	other := t.TempDir()
	db, err := bolt.Open(filepath.Join(other, fileName), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = Open(other, Options{})
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), `no "meta" bucket: not a jitbench broker store`)
}

func TestDurableCorrupt(t *testing.T) {
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/251)
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"garbage", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, garbage, 0o600))
		}, "no valid meta page in 65536 bytes: not a bbolt file, or both its meta pages are damaged"},
		{"short garbage", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("not a database\n"), 0o600))
		}, "no valid meta page in 15 bytes"},
		{"empty file", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, nil, 0o600))
		}, "the file is empty (0 bytes): only a missing broker.db starts a new store"},
		{"foreign bolt file", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				for _, name := range append([][]byte{bucketMeta}, dataBuckets...) {
					if err := tx.DeleteBucket(name); err != nil {
						return err
					}
				}
				_, err := tx.CreateBucket([]byte("widgets"))
				return err
			})
		}, `no "meta" bucket`},
		{"wrong schema version", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keySchema, seqKey(schemaVersion+1))
			})
		}, "schema version 3, this broker reads 2"},
		{"previous schema", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keySchema, seqKey(1))
			})
		}, "schema version 1, written by an older jitbench without record checksums or an audit hash chain; this broker reads 2 and does not convert"},
		{"malformed feed epoch", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keyEpoch, []byte("x"))
			})
		}, "revocation feed epoch of 1 bytes, want 16"},
		{"foreign bucket", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("widgets\x00"))
				return err
			})
		}, `unexpected "widgets\x00" at the root`},
		{"malformed schema version", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keySchema, []byte("1"))
			})
		}, "schema version missing or malformed (1 bytes)"},
		{"bucket missing", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				return tx.DeleteBucket(bucketAudit)
			})
		}, `bucket "audit" missing`},
		{"truncated", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				big := make([]byte, 1<<20)
				return tx.Bucket(bucketRequests).Put([]byte("big"), big)
			})
			require.NoError(t, os.Truncate(path, 5*4096))
		}, "its meta page says"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, fileName)
			tt.prepare(t, path)

			s, err := Open(dir, Options{})
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// withBolt creates a valid store file at path, then changes it with fn
// through bbolt directly.
func withBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	s, err := Open(filepath.Dir(path), Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, db.Update(fn))
	require.NoError(t, db.Close())
}

func TestDurableLocked(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir)

	start := time.Now()
	s, err := Open(dir, Options{})
	require.ErrorIs(t, err, ErrLocked)
	assert.Nil(t, s)
	assert.Contains(t, err.Error(), filepath.Join(dir, fileName))
	assert.Less(t, time.Since(start), 5*time.Second, "fails quickly")
}

func TestDurableOpenNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := Open(file, Options{})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrCorrupt)
}

func TestDurableCloseWaitsForCommits(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			err := s.Commit(context.Background(), Batch{Requests: []*jitv1.AccessRequest{newRequest(fmt.Sprint(i))}})
			if err != nil {
				assert.ErrorIs(t, err, ErrClosed)
			}
		})
	}
	require.NoError(t, s.Close())
	wg.Wait()
}
