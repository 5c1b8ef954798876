package broker_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/token"
)

// benchStores are the stores the benchmarks run on: the memory store, and
// the durable bbolt store with real fsyncs.
func benchStores(b *testing.B) map[string]func() store.Store {
	return map[string]func() store.Store{
		"memory": store.NewMemory,
		"bbolt": func() store.Store {
			s, err := store.Open(b.TempDir(), store.Options{})
			require.NoError(b, err)
			return s
		},
	}
}

// newBenchFixture is a broker on s with the real clock: the fake clock
// keeps its timers in a slice it sorts on every insertion, which would
// dominate a benchmark holding thousands of timers.
func newBenchFixture(b *testing.B, s store.Store) *fixture {
	clock := clockwork.NewRealClock()
	f := &fixture{
		t:      b,
		store:  s,
		policy: testPolicy(),
		issuer: token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clock),
	}
	b.Cleanup(func() { _ = s.Close() })
	f.b = f.open(func(c *broker.Config) { c.Clock = clock })
	return f
}

// BenchmarkApprovalToWatcher measures how long a waiting watcher takes to
// see an approval: from the Review call to the watcher's send of APPROVED,
// commit included. It reports the p50 and p99 over b.N approvals.
func BenchmarkApprovalToWatcher(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			f := newBenchFixture(b, open())

			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				id := f.request(alice, read(0)).GetId()
				var approvedAt time.Time
				pending := make(chan struct{})
				done := make(chan error, 1)
				go func() {
					done <- f.b.Watch(context.Background(), alice, id, func(r *jitv1.AccessRequest) error {
						switch r.GetState() {
						case jitv1.State_STATE_PENDING:
							close(pending)
						case jitv1.State_STATE_APPROVED:
							approvedAt = time.Now()
							return errStop
						}
						return nil
					})
				}()
				<-pending
				t0 := time.Now()
				if _, err := f.approve(bob, id); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != errStop {
					b.Fatal(err)
				}
				latencies = append(latencies, approvedAt.Sub(t0))
			}
			b.StopTimer()
			slices.Sort(latencies)
			b.ReportMetric(float64(percentile(latencies, 0.50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds()), "p99-µs")
		})
	}
}

// errStop ends a benchmark's watch once it saw what it waited for.
var errStop = fmt.Errorf("seen")

// percentile returns the q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(float64(len(sorted))*q), len(sorted)-1)]
}

// BenchmarkPendingWatchers holds 10,000 watches on 10,000 pending requests
// at once and reports the heap each one costs: spans in use (HeapInuse,
// what the process holds) and live objects (HeapAlloc). Both include the
// watching goroutine's descriptor, which the runtime allocates on the heap;
// its stack is reported apart.
func BenchmarkPendingWatchers(b *testing.B) {
	const watchers = 10_000
	f := newBenchFixture(b, store.NewMemory())
	ids := make([]string, watchers)
	for i := range ids {
		requester := broker.Caller{Subject: fmt.Sprintf("dev-%d", i), Groups: []string{"dev"}}
		r, err := f.b.RequestAccess(context.Background(), requester, read(0))
		require.NoError(b, err)
		ids[i] = r.GetId()
	}

	var heap, alloc, stack float64
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)

		var started, ended sync.WaitGroup
		started.Add(watchers)
		for i, id := range ids {
			requester := broker.Caller{Subject: fmt.Sprintf("dev-%d", i), Groups: []string{"dev"}}
			ended.Go(func() {
				once := sync.OnceFunc(started.Done)
				_ = f.b.Watch(ctx, requester, id, func(*jitv1.AccessRequest) error {
					once()
					return nil
				})
			})
		}
		started.Wait()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / watchers
		alloc = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / watchers
		stack = float64(int64(after.StackInuse)-int64(before.StackInuse)) / watchers
		cancel()
		ended.Wait()
	}
	b.ReportMetric(heap, "heap-inuse-B/watcher")
	b.ReportMetric(alloc, "heap-live-B/watcher")
	b.ReportMetric(stack, "stack-B/watcher")
}

// BenchmarkDurableGrants measures grants issued per second end to end:
// RequestAccess under an immediate auto-approve rule, which validates,
// signs the grant and commits the request with its audit records. Callers
// run in parallel (32 per core) so the bbolt store's group commit can share
// fsyncs, as it does under real load.
func BenchmarkDurableGrants(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			f := newBenchFixture(b, open())
			oncall := broker.Caller{Subject: "olga", Groups: []string{"oncall"}}
			in := &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: autoSvc, Methods: []string{autoGet}}}
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := f.b.RequestAccess(context.Background(), oncall, in)
					if err != nil {
						b.Error(err)
						return
					}
					if r.GetGrant() == "" {
						b.Error("auto-approved request came back without a grant")
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
		})
	}
}
