package reports

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Memory stays flat: however many distinct messages the calls bring, from
// however many goroutines, a recorder keeps at most trackedMessages per
// code and reason, in its registry and in every shard.
func TestMessageTalliesBounded(t *testing.T) {
	rec := NewRecorder(Run{Method: "/m", Mode: ClosedLoop})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const workers, each = 8, 2_000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				msg := "path is required"
				if i%2 == 1 {
					msg = fmt.Sprintf("worker %d call %d failed", w, i)
				}
				rec.Record(Sample{Start: t0, Latency: time.Millisecond, Code: "INVALID_ARGUMENT", Message: msg})
			}
		})
	}
	wg.Wait()

	k := pairKey{"INVALID_ARGUMENT", ""}
	require.Contains(t, rec.registries, k)
	assert.Len(t, *rec.registries[k].tracked.Load(), trackedMessages)
	for _, sh := range rec.allShards() {
		if pr := sh.pairs[k]; pr != nil {
			assert.LessOrEqual(t, len(pr.msgs.counts), trackedMessages)
		}
	}
	res := rec.Finish()
	require.Len(t, res.Messages, 1)
	mc := res.Messages[0]
	assert.Equal(t, MessageCount{Message: "path is required", Calls: workers * each / 2}, mc.Top[0],
		"counted exactly, whichever shards saw it")
	var sum int64
	for _, m := range mc.Top {
		sum += m.Calls
	}
	assert.EqualValues(t, workers*each, sum+mc.Other)
}
