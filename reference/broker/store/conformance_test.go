package store

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// implementations are the stores the conformance tests hold to the same
// contract, so the memory store tests stand in for the durable one.
func implementations() []struct {
	name string
	open func(t *testing.T) Store
} {
	return []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"memory", func(*testing.T) Store { return NewMemory() }},
		{"durable", func(t *testing.T) Store {
			s, err := Open(t.TempDir(), Options{})
			require.NoError(t, err)
			return s
		}},
	}
}

// forEachStore runs test against a fresh store of every implementation.
func forEachStore(t *testing.T, test func(t *testing.T, s Store)) {
	t.Helper()
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			s := impl.open(t)
			t.Cleanup(func() { _ = s.Close() })
			test(t, s)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		req := newRequest("r1")
		rev := newRevocation("g-r1")
		rec := newAudit("r1")
		b := Batch{Requests: []*jitv1.AccessRequest{req}, Revocations: []*jitv1.RevocationEvent{rev}, Audit: []AuditRecord{rec}}
		require.NoError(t, s.Commit(context.Background(), b))

		assert.Equal(t, uint64(1), rev.GetSequence(), "sequence written back")
		assert.Equal(t, uint64(1), b.Audit[0].Seq, "seq written back")

		got, err := s.Request("r1")
		require.NoError(t, err)
		assert.Empty(t, cmpProto(req, got))
		assert.Empty(t, cmpProto(req, allRequests(t, s)["r1"]))

		revs := allRevocations(t, s, 0)
		require.Len(t, revs, 1)
		assert.Empty(t, cmpProto(rev, revs[0]))

		recs := allAudit(t, s, 0)
		require.Len(t, recs, 1)
		want := rec
		want.Seq = 1
		assert.Len(t, b.Audit[0].Hash, 2*hashLen, "hash written back")
		want.Hash = b.Audit[0].Hash
		assert.True(t, want.At.Equal(recs[0].At))
		recs[0].At = want.At
		assert.Equal(t, want, recs[0])
	})
}

func TestSequences(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		for i := range 3 {
			b := Batch{
				Revocations: []*jitv1.RevocationEvent{newRevocation("a"), newRevocation("b")},
				Audit:       []AuditRecord{newAudit("x"), newAudit("y"), newAudit("z")},
			}
			require.NoError(t, s.Commit(ctx, b))
			assert.Equal(t, []uint64{uint64(2*i + 1), uint64(2*i + 2)}, []uint64{b.Revocations[0].GetSequence(), b.Revocations[1].GetSequence()})
			assert.Equal(t, uint64(3*i+1), b.Audit[0].Seq)
			assert.Equal(t, uint64(3*i+3), b.Audit[2].Seq)
		}
		tests := []struct {
			after    uint64
			wantRevs []uint64
			wantRecs int
		}{
			{0, []uint64{1, 2, 3, 4, 5, 6}, 9},
			{4, []uint64{5, 6}, 5},
			{6, nil, 3},
			{9, nil, 0},
			{1 << 40, nil, 0},
		}
		for _, tt := range tests {
			var seqs []uint64
			for _, ev := range allRevocations(t, s, tt.after) {
				seqs = append(seqs, ev.GetSequence())
			}
			assert.Equal(t, tt.wantRevs, seqs, "revocations after %d", tt.after)
			recs := allAudit(t, s, tt.after)
			require.Len(t, recs, tt.wantRecs, "audit after %d", tt.after)
			for i, rec := range recs {
				assert.Equal(t, tt.after+uint64(i)+1, rec.Seq)
			}
		}
	})
}

func TestRequestReplaced(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		r := newRequest("r1")
		require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{r}}))
		r2 := newRequest("r1")
		r2.State, r2.Revision = jitv1.State_STATE_REVOKED, 4
		require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{r2}}))

		got, err := s.Request("r1")
		require.NoError(t, err)
		assert.Equal(t, jitv1.State_STATE_REVOKED, got.GetState())
		assert.Equal(t, uint64(4), got.GetRevision())
		assert.Len(t, allRequests(t, s), 1)
	})
}

func TestNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		_, err := s.Request("nope")
		require.ErrorIs(t, err, ErrNotFound)
		assert.Contains(t, err.Error(), `"nope"`)
	})
}

func TestCopies(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		r := newRequest("r1")
		require.NoError(t, s.Commit(context.Background(), Batch{Requests: []*jitv1.AccessRequest{r}}))
		r.State = jitv1.State_STATE_DENIED // the caller's copy, after commit

		got, err := s.Request("r1")
		require.NoError(t, err)
		assert.Equal(t, jitv1.State_STATE_APPROVED, got.GetState())
		got.Reviews = nil // the reader's copy

		again, err := s.Request("r1")
		require.NoError(t, err)
		assert.Len(t, again.GetReviews(), 1)
	})
}

func TestInvalidBatchWritesNothing(t *testing.T) {
	heartbeat := newRevocation("g")
	heartbeat.Heartbeat = true
	badUTF8 := newRequest("r2")
	badUTF8.Justification = "\xff"
	tests := []struct {
		name  string
		batch Batch
	}{
		{"nil request", Batch{Requests: []*jitv1.AccessRequest{newRequest("r1"), nil}}},
		{"request without id", Batch{Requests: []*jitv1.AccessRequest{newRequest("r1"), {}}}},
		{"id too long", Batch{Requests: []*jitv1.AccessRequest{newRequest(string(make([]byte, maxIDLen+1)))}}},
		{"invalid utf-8", Batch{Requests: []*jitv1.AccessRequest{newRequest("r1"), badUTF8}}},
		{"nil revocation", Batch{Requests: []*jitv1.AccessRequest{newRequest("r1")}, Revocations: []*jitv1.RevocationEvent{nil}}},
		{"revocation without grant", Batch{Requests: []*jitv1.AccessRequest{newRequest("r1")}, Revocations: []*jitv1.RevocationEvent{{}}}},
		{"heartbeat", Batch{Requests: []*jitv1.AccessRequest{newRequest("r1")}, Revocations: []*jitv1.RevocationEvent{heartbeat}}},
		{"unencodable time", Batch{Requests: []*jitv1.AccessRequest{newRequest("r1")}, Audit: []AuditRecord{{At: epoch.AddDate(10000, 0, 0)}}}},
	}
	forEachStore(t, func(t *testing.T, s Store) {
		for _, tt := range tests {
			err := s.Commit(context.Background(), tt.batch)
			require.ErrorIs(t, err, ErrInvalid, tt.name)
		}
		assert.Empty(t, allRequests(t, s))
		assert.Empty(t, allRevocations(t, s, 0))
		assert.Empty(t, allAudit(t, s, 0))
	})
}

func TestCommitCanceled(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{newRequest("r1")}})
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.Request("r1")
		require.ErrorIs(t, err, ErrNotFound)
	})
}

func TestIterationStops(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		b := Batch{}
		for _, id := range ids("r", 5) {
			b.Requests = append(b.Requests, newRequest(id))
			b.Revocations = append(b.Revocations, newRevocation("g-"+id))
			b.Audit = append(b.Audit, newAudit(id))
		}
		require.NoError(t, s.Commit(context.Background(), b))

		n := 0
		require.NoError(t, s.Requests(func(*jitv1.AccessRequest) bool { n++; return n < 2 }))
		assert.Equal(t, 2, n)
		n = 0
		require.NoError(t, s.Revocations(0, func(*jitv1.RevocationEvent) bool { n++; return n < 2 }))
		assert.Equal(t, 2, n)
		n = 0
		require.NoError(t, s.Audit(0, func(AuditRecord) bool { n++; return n < 2 }))
		assert.Equal(t, 2, n)
	})
}

// TestCommitDuringIteration pins that fn may call the store: the broker
// replays state at start-up and may write while it does.
func TestCommitDuringIteration(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{newRequest("r1")}, Audit: []AuditRecord{newAudit("r1")}, Revocations: []*jitv1.RevocationEvent{newRevocation("g")}}))
		require.NoError(t, s.Requests(func(r *jitv1.AccessRequest) bool {
			require.NoError(t, s.Commit(ctx, Batch{Requests: []*jitv1.AccessRequest{newRequest(r.GetId() + "-next")}}))
			return true
		}))
		require.NoError(t, s.Revocations(0, func(*jitv1.RevocationEvent) bool {
			require.NoError(t, s.Commit(ctx, Batch{Audit: []AuditRecord{newAudit("r1")}}))
			return true
		}))
		require.NoError(t, s.Audit(0, func(AuditRecord) bool {
			require.NoError(t, s.Commit(ctx, Batch{Revocations: []*jitv1.RevocationEvent{newRevocation("g2")}}))
			return false
		}))
		assert.Len(t, allRequests(t, s), 2)
		assert.Len(t, allAudit(t, s, 0), 2)
		assert.Len(t, allRevocations(t, s, 0), 2)
	})
}

func TestConcurrentCommits(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		const workers, each = 64, 4
		var wg sync.WaitGroup
		seqs := make(chan uint64, workers*each)
		for w := range workers {
			wg.Go(func() {
				for _, id := range ids(string(rune('A'+w%26))+string(rune('a'+w/26)), each) {
					b := Batch{Requests: []*jitv1.AccessRequest{newRequest(id)}, Audit: []AuditRecord{newAudit(id)}}
					if !assert.NoError(t, s.Commit(context.Background(), b)) {
						return
					}
					seqs <- b.Audit[0].Seq
				}
			})
		}
		wg.Wait()
		close(seqs)
		seen := make(map[uint64]bool)
		for seq := range seqs {
			assert.False(t, seen[seq], "seq %d given twice", seq)
			seen[seq] = true
		}
		assert.Len(t, seen, workers*each)
		assert.Len(t, allRequests(t, s), workers*each)
		assert.Len(t, allAudit(t, s, 0), workers*each)
	})
}

func TestClosed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		require.NoError(t, s.Commit(context.Background(), Batch{Requests: []*jitv1.AccessRequest{newRequest("r1")}}))
		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "closing twice is harmless")

		require.ErrorIs(t, s.Commit(context.Background(), Batch{Requests: []*jitv1.AccessRequest{newRequest("r2")}}), ErrClosed)
		_, err := s.Request("r1")
		require.ErrorIs(t, err, ErrClosed)
		require.ErrorIs(t, s.Requests(func(*jitv1.AccessRequest) bool { return true }), ErrClosed)
		require.ErrorIs(t, s.Revocations(0, func(*jitv1.RevocationEvent) bool { return true }), ErrClosed)
		require.ErrorIs(t, s.Audit(0, func(AuditRecord) bool { return true }), ErrClosed)
	})
}

// cmpProto returns a readable difference between two messages, or "".
func cmpProto(want, got proto.Message) string {
	if proto.Equal(want, got) {
		return ""
	}
	return "want " + prototext.Format(want) + "\ngot  " + prototext.Format(got)
}
