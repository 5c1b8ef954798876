package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// BenchmarkCommitParallel measures durable grants per second: 32
// goroutines per core each commit one request and one audit record, as a
// grant does. The nofsync case shows what fsync costs.
func BenchmarkCommitParallel(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts Options
	}{{"fsync", Options{}}, {"nofsync", Options{NoFsync: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := Open(b.TempDir(), tc.opts)
			require.NoError(b, err)
			defer s.Close()
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprintf("b-%d", n.Add(1))
					if err := s.Commit(context.Background(), grantBatch(id)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// BenchmarkCommitSerial measures one commit at a time: its ns/op is the
// latency of one bbolt transaction: its page writes and two fdatasyncs.
func BenchmarkCommitSerial(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	require.NoError(b, err)
	defer s.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		require.NoError(b, s.Commit(context.Background(), grantBatch(fmt.Sprintf("s-%d", i))))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkFsync measures the disk alone: write a page and fsync it (an
// upper bound of the fdatasync bbolt calls twice per commit). Overwriting one page is the disk's floor; appending allocates a block
// every time, which on ext4 adds a journal commit to the fdatasync, as
// bbolt's writes at the end of a growing file do.
func BenchmarkFsync(b *testing.B) {
	for _, tc := range []struct {
		name   string
		append bool
	}{{"overwrite", false}, {"append", true}} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
			require.NoError(b, err)
			defer f.Close()
			page := make([]byte, 4096)
			var off int64
			for b.Loop() {
				_, err := f.WriteAt(page, off)
				require.NoError(b, err)
				require.NoError(b, f.Sync())
				if tc.append {
					off += int64(len(page))
				}
			}
		})
	}
}

// grantBatch is what the broker commits when it approves a request.
func grantBatch(id string) Batch {
	return Batch{Requests: []*jitv1.AccessRequest{newRequest(id)}, Audit: []AuditRecord{newAudit(id)}}
}
