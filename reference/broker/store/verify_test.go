package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// auditStore returns a closed durable store in a new directory holding n
// audit records, and their hashes as committed.
func auditStore(t *testing.T, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{NoFsync: true})
	require.NoError(t, err)
	var hashes []string
	for _, id := range ids("r", n) {
		b := Batch{Audit: []AuditRecord{newAudit(id)}}
		require.NoError(t, s.Commit(context.Background(), b))
		hashes = append(hashes, b.Audit[0].Hash)
	}
	require.NoError(t, s.Close())
	return dir, hashes
}

// editAudit changes the audit bucket of the closed store in dir with bbolt
// directly, as someone with write access to the file can.
func editAudit(t *testing.T, dir string, fn func(b *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, fileName), 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketAudit)) }))
	require.NoError(t, db.Close())
}

// rewrite returns record seq's stored value with its JSON changed by fn,
// its hash left as it was.
func rewrite(t *testing.T, b *bolt.Bucket, seq uint64, fn func(canonical []byte) []byte) []byte {
	t.Helper()
	v := b.Get(seqKey(seq))
	require.NotNil(t, v)
	return append(bytes.Clone(v[:hashLen]), fn(bytes.Clone(v[hashLen:]))...)
}

func TestVerifyAuditIntact(t *testing.T) {
	dir, hashes := auditStore(t, 5)
	chain, err := VerifyAudit(dir)
	require.NoError(t, err)
	assert.Equal(t, AuditChain{Records: 5, Head: hashes[4]}, chain)

	empty := t.TempDir()
	s, err := Open(empty, Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	chain, err = VerifyAudit(empty)
	require.NoError(t, err)
	assert.Equal(t, AuditChain{}, chain)

	_, err = VerifyAudit(t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist, "verifying creates no store")
}

// TestVerifyAuditBroken edits the audit log the ways someone with the file
// could, and checks that verification names the first record that fails.
func TestVerifyAuditBroken(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, b *bolt.Bucket) error
		want string
	}{
		{"a record's reason changed", func(t *testing.T, b *bolt.Bucket) error {
			return b.Put(seqKey(3), rewrite(t, b, 3, func(c []byte) []byte { return bytes.Replace(c, []byte("looks fine"), []byte("looks FINE"), 1) }))
		}, "audit hash chain broken at record 3: its hash does not match its contents"},
		{"a record changed and its own hash recomputed", func(t *testing.T, b *bolt.Bucket) error {
			prev, v := b.Get(seqKey(2)), b.Get(seqKey(3))
			c := bytes.Replace(bytes.Clone(v[hashLen:]), []byte(`"actor":"bob"`), []byte(`"actor":"eve"`), 1)
			h := chainHash([hashLen]byte(prev[:hashLen]), c)
			return b.Put(seqKey(3), chainValue(h, c))
		}, "audit hash chain broken at record 4: its hash does not match"},
		{"a record removed", func(_ *testing.T, b *bolt.Bucket) error {
			return b.Delete(seqKey(2))
		}, "audit hash chain broken: record 2 is missing (the next is 3)"},
		{"a record moved to another sequence", func(t *testing.T, b *bolt.Bucket) error {
			v := bytes.Clone(b.Get(seqKey(2)))
			return b.Put(seqKey(3), v)
		}, "audit hash chain broken at record 3: "},
		{"the last record cut off", func(_ *testing.T, b *bolt.Bucket) error {
			return b.Delete(seqKey(5))
		}, "audit hash chain broken: the log ends at record 4, but 5 were written"},
		{"a field added, the hash recomputed", func(t *testing.T, b *bolt.Bucket) error {
			prev, v := b.Get(seqKey(1)), b.Get(seqKey(2))
			c := append(bytes.TrimSuffix(bytes.Clone(v[hashLen:]), []byte("}")), []byte(`,"extra":1}`)...)
			return b.Put(seqKey(2), chainValue(chainHash([hashLen]byte(prev[:hashLen]), c), c))
		}, "audit hash chain broken at record 2: not in the canonical encoding jitbench writes"},
		{"a value cut short", func(_ *testing.T, b *bolt.Bucket) error {
			return b.Put(seqKey(1), []byte("short"))
		}, "audit hash chain broken at record 1: value of 5 bytes, too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := auditStore(t, 5)
			editAudit(t, dir, func(b *bolt.Bucket) error { return tt.edit(t, b) })

			_, err := VerifyAudit(dir)
			require.ErrorIs(t, err, ErrChainBroken)
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), filepath.Join(dir, fileName))

			_, err = Open(dir, Options{})
			require.ErrorIs(t, err, ErrChainBroken, "the broker refuses the store too")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestVerifyAuditRewrittenWhole pins the chain's limit: whoever can write
// the file can recompute every hash after a change, and only a head kept
// elsewhere shows it.
func TestVerifyAuditRewrittenWhole(t *testing.T) {
	dir, hashes := auditStore(t, 4)
	editAudit(t, dir, func(b *bolt.Bucket) error {
		var prev [hashLen]byte
		for seq := uint64(1); seq <= 4; seq++ {
			c := bytes.Clone(b.Get(seqKey(seq))[hashLen:])
			if seq == 2 {
				c = bytes.Replace(c, []byte(`"actor":"bob"`), []byte(`"actor":"eve"`), 1)
			}
			prev = chainHash(prev, c)
			if err := b.Put(seqKey(seq), chainValue(prev, c)); err != nil {
				return err
			}
		}
		return nil
	})
	chain, err := VerifyAudit(dir)
	require.NoError(t, err)
	assert.Equal(t, uint64(4), chain.Records)
	assert.NotEqual(t, hashes[3], chain.Head, "the head changed")
}

// TestAuditReadsCheckTheChain: a record changed under a running store
// fails the read that meets it, and the export, with ErrChainBroken.
func TestAuditReadsCheckTheChain(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		require.NoError(t, s.Commit(ctx, Batch{Audit: []AuditRecord{newAudit("r1"), newAudit("r2"), newAudit("r3")}}))
		recs := allAudit(t, s, 0)
		require.Len(t, recs, 3)
		var prev [hashLen]byte
		for _, rec := range recs {
			canonical, err := canonicalAudit(rec)
			require.NoError(t, err)
			prev = chainHash(prev, canonical)
			assert.Equal(t, hex.EncodeToString(prev[:]), rec.Hash, "record %d", rec.Seq)
		}
		assert.Equal(t, recs[1:], allAudit(t, s, 1), "a walk from the middle checks from there")

		tamper(t, s, 2)
		err := s.Audit(0, func(AuditRecord) bool { return true })
		require.ErrorIs(t, err, ErrChainBroken)
		assert.Contains(t, err.Error(), "at record 2")
		require.ErrorIs(t, s.Audit(1, func(AuditRecord) bool { return true }), ErrChainBroken)
		require.NoError(t, s.Audit(2, func(AuditRecord) bool { return true }), "record 3 still chains to record 2's stored hash")
		require.ErrorIs(t, ExportAudit(s, &bytes.Buffer{}), ErrChainBroken)
	})
}

// tamper changes audit record seq of a running store in place.
func tamper(t *testing.T, s Store, seq uint64) {
	t.Helper()
	change := func(v []byte) { v[len(v)-3] ^= 0x01 }
	switch s := s.(type) {
	case *memory:
		s.mu.Lock()
		defer s.mu.Unlock()
		change(s.audit[seq-1])
	case *durable:
		// Through bbolt, as the writer does: the store stays consistent.
		require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketAudit)
			v := bytes.Clone(b.Get(seqKey(seq)))
			change(v)
			return b.Put(seqKey(seq), v)
		}))
	default:
		t.Fatalf("unknown store %T", s)
	}
}

// TestChainHashIsSHA256 pins the chain for outside checkers.
func TestChainHashIsSHA256(t *testing.T) {
	prev := sha256.Sum256([]byte("previous"))
	want := sha256.Sum256(append(prev[:], `{"seq":2}`...))
	assert.Equal(t, want, chainHash(prev, []byte(`{"seq":2}`)))
}
