package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// storeImage is the file of a real store, closed, with what it holds.
type storeImage struct {
	raw      []byte
	pageSize int
	// pgid is the high water mark: pages [0, pgid) are in use or free.
	pgid int
	// free marks the pages below pgid that the free list holds.
	free []bool
	// want is the store's contents; before is it without the last
	// commit, which a damaged newest meta page falls back to.
	want, before string
}

// buildImage commits a broker's worth of records in several transactions
// (so that the file has branch pages, overflow pages and free pages) and
// returns the closed file.
func buildImage(t testing.TB) storeImage {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{NoFsync: true})
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 8 {
		b := Batch{}
		for j := range 12 {
			id := fmt.Sprintf("req-%02d-%02d", i, j)
			r := newRequest(id)
			if i == 3 && j == 0 {
				r.Justification = strings.Repeat("a long story ", 800) // an overflow page
			}
			b.Requests = append(b.Requests, r)
			b.Revocations = append(b.Revocations, newRevocation("g-"+id))
			for k := range 3 {
				rec := newAudit(id)
				rec.Reason = fmt.Sprintf("audit-%02d-%02d-%d", i, j, k)
				b.Audit = append(b.Audit, rec)
			}
		}
		require.NoError(t, s.Commit(ctx, b))
		// Rewrite a few requests, as transitions do, leaving free pages.
		for j := range 4 {
			r := newRequest(fmt.Sprintf("req-%02d-%02d", i, j))
			r.State, r.Revision = jitv1.State_STATE_REVOKED, 4
			require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{r}}))
		}
	}
	img := storeImage{before: dump(t, s)}
	last := newAudit("req-last")
	last.Reason = "the last commit"
	require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{newRequest("req-last")}, Audit: []AuditRecord{last}}))
	img.want = dump(t, s)
	require.NoError(t, s.Close())

	path := filepath.Join(dir, fileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	img.pageSize = db.Info().PageSize
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		img.pgid = int(tx.Size()) / img.pageSize
		img.free = make([]bool, img.pgid)
		for id := range img.pgid {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			img.free[id] = info.Type == "free"
		}
		return nil
	}))
	require.NoError(t, db.Close())
	img.raw, err = os.ReadFile(path)
	require.NoError(t, err)
	return img
}

// dump renders everything a store holds, in a fixed order, for comparing
// a damaged store's contents with the original's.
func dump(t testing.TB, s Store) string {
	t.Helper()
	var b bytes.Buffer
	det := proto.MarshalOptions{Deterministic: true}
	write := func(m proto.Message) {
		data, err := det.Marshal(m)
		require.NoError(t, err)
		b.Write(data)
	}
	var reqs []*jitv1.AccessRequest
	require.NoError(t, s.Requests(func(r *jitv1.AccessRequest) bool { reqs = append(reqs, r); return true }))
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].GetId() < reqs[j].GetId() })
	for _, r := range reqs {
		write(r)
	}
	require.NoError(t, s.Revocations(0, func(ev *jitv1.RevocationEvent) bool { write(ev); return true }))
	require.NoError(t, s.Audit(0, func(rec AuditRecord) bool {
		line, err := json.Marshal(rec)
		require.NoError(t, err)
		b.Write(line)
		return true
	}))
	return b.String()
}

// openImage writes raw as the store file of a new directory and opens it.
func openImage(t *testing.T, raw []byte) (Store, string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, fileName)
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	s, err := Open(dir, Options{NoFsync: true})
	if err == nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	return s, path, err
}

// assertRefused checks how Open refuses a damaged file: ErrCorrupt, in one
// line of printable text naming the file.
func assertRefused(t *testing.T, err error, path string) {
	t.Helper()
	require.ErrorIs(t, err, ErrCorrupt)
	msg := err.Error()
	assert.Contains(t, msg, "store: "+path+": corrupt data directory: ")
	for _, c := range []byte(msg) {
		if c < ' ' || c > '~' {
			assert.Failf(t, "the error is not one line of printable text", "%q", msg)
			break
		}
	}
}

// with returns a copy of raw changed by fn.
func with(raw []byte, fn func(b []byte) []byte) []byte {
	return fn(bytes.Clone(raw))
}

// liveOffset returns where needle is in the pages of img in use, which it
// must be exactly once (free pages keep stale copies).
func liveOffset(t *testing.T, img storeImage, needle string) int {
	t.Helper()
	found := -1
	for id := range img.pgid {
		if img.free[id] {
			continue
		}
		page := img.raw[id*img.pageSize : (id+1)*img.pageSize]
		if i := bytes.Index(page, []byte(needle)); i >= 0 {
			require.Equal(t, -1, found, "%q is in more than one live page", needle)
			found = id*img.pageSize + i
		}
	}
	require.GreaterOrEqual(t, found, 0, "%q not found", needle)
	return found
}

// TestOpenRefusesDamage damages a real store each way a disk or a person
// can (cut short, a page zeroed, a bit flipped) and checks that Open
// either refuses it with one clear line, or opens it with every record as
// it was: never a panic, never a silently different store.
func TestOpenRefusesDamage(t *testing.T) {
	img := buildImage(t)
	require.Greater(t, img.pgid, 20, "a store of several pages")
	t.Logf("%d pages of %d bytes, %d free; file of %d bytes", img.pgid, img.pageSize, count(img.free), len(img.raw))

	t.Run("intact", func(t *testing.T) {
		s, _, err := openImage(t, img.raw)
		require.NoError(t, err)
		assert.Equal(t, img.want, dump(t, s))
	})

	t.Run("0-byte file", func(t *testing.T) {
		_, path, err := openImage(t, nil)
		assertRefused(t, err, path)
		assert.Contains(t, err.Error(), "the file is empty (0 bytes)")
	})

	t.Run("truncated", func(t *testing.T) {
		end := img.pgid * img.pageSize
		for _, size := range []int{1, 100, img.pageSize - 1, img.pageSize, 2 * img.pageSize, 4*img.pageSize + 17, end / 2, end - img.pageSize, end - 1} {
			_, path, err := openImage(t, img.raw[:size])
			assertRefused(t, err, path)
		}
		// What lies past the high water mark is bbolt's slack, not data.
		s, _, err := openImage(t, img.raw[:end])
		require.NoError(t, err)
		assert.Equal(t, img.want, dump(t, s))
	})

	t.Run("each page zeroed", func(t *testing.T) {
		for id := range img.pgid {
			raw := with(img.raw, func(b []byte) []byte {
				clear(b[id*img.pageSize : (id+1)*img.pageSize])
				return b
			})
			s, path, err := openImage(t, raw)
			switch {
			case id < 2 && err != nil:
				// bbolt's check refuses a meta page without its header.
				assertRefused(t, err, path)
			case id < 2:
				// A meta page that fails its checksum, as one torn by a
				// crash does, is survivable: bbolt uses the other, the
				// newest commit or the one before it.
				assert.Contains(t, []string{img.want, img.before}, dump(t, s), "meta page %d", id)
			case img.free[id]:
				require.NoError(t, err, "free page %d", id)
				assert.Equal(t, img.want, dump(t, s), "free page %d", id)
			default:
				assertRefused(t, err, path)
			}
		}
	})

	t.Run("bits flipped anywhere", func(t *testing.T) {
		// One bit at a time, in 200 bytes spread over the file (every
		// kind of page): each flip is refused or changes nothing read.
		refused := 0
		end := img.pgid * img.pageSize
		for i := range 200 {
			off := i*end/200 + i%67
			raw := with(img.raw, func(b []byte) []byte { b[off] ^= 1 << (off % 8); return b })
			s, path, err := openImage(t, raw)
			if err != nil {
				assertRefused(t, err, path)
				refused++
				continue
			}
			assert.Contains(t, []string{img.want, img.before}, dump(t, s), "bit %d of byte %d (page %d)", off%8, off, off/img.pageSize)
		}
		assert.Positive(t, refused)
	})

	t.Run("an audit record changed", func(t *testing.T) {
		tests := []struct {
			name   string
			needle string // in the record's JSON
			change func(b []byte, at int)
			want   string
		}{
			{"first record, a bit of its reason", "audit-00-00-0", func(b []byte, at int) { b[at+len("audit-00-00-")] ^= 0x01 },
				"audit hash chain broken at record 1: its hash does not match its contents"},
			{"a middle record, its actor", `"actor":"bob","action":"approved","from":"PENDING","to":"APPROVED","reason":"audit-03-05-1"`,
				func(b []byte, at int) { copy(b[at+len(`"actor":"`):], "eve") }, "audit hash chain broken at record 125: "},
			{"the last record, its hash", `{"seq":289,`, func(b []byte, at int) { b[at-1] ^= 0x80 },
				"audit hash chain broken at record 289: its hash does not match"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				at := liveOffset(t, img, tt.needle)
				raw := with(img.raw, func(b []byte) []byte { tt.change(b, at); return b })
				_, path, err := openImage(t, raw)
				assertRefused(t, err, path)
				require.ErrorIs(t, err, ErrChainBroken)
				assert.Contains(t, err.Error(), tt.want)

				_, err = VerifyAudit(filepath.Dir(path))
				require.ErrorIs(t, err, ErrChainBroken)
				assert.Contains(t, err.Error(), tt.want)
			})
		}
	})

	t.Run("a request or revocation changed", func(t *testing.T) {
		tests := []struct{ needle, want string }{
			// Found by a unique field (tag, length, text); the byte after
			// it is flipped: the value decodes, to something else.
			{"\x0a\x09req-05-07", `request "req-05-07": checksum mismatch`},
			{"\x12\x0bg-req-02-03", "revocation 28: checksum mismatch"},
		}
		for _, tt := range tests {
			at := liveOffset(t, img, tt.needle)
			raw := with(img.raw, func(b []byte) []byte { b[at+len(tt.needle)] ^= 0x04; return b })
			_, path, err := openImage(t, raw)
			assertRefused(t, err, path)
			assert.NotErrorIs(t, err, ErrChainBroken)
			assert.Contains(t, err.Error(), tt.want)
		}
	})
}

// count returns how many of b are true.
func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}
