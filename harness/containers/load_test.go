package containers_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/containers"
	"github.com/jitbench/jitbench/reports"
)

// loadWorkers is the number of worker containers of the distributed load test.
const loadWorkers = 2

// TestDistributedLoad runs worker containers against the Vault container
// by its alias, with grants from the broker container, each writing its
// result to a shared host directory, and checks that the merge of their
// results (what `jitbench report merge` does) is exact.
func TestDistributedLoad(t *testing.T) {
	t.Parallel()
	im := requireDocker(t)
	c := containers.StartTB(t, containers.Options{Images: im, RunID: runID, AutoApprove: time.Millisecond})
	dir := t.TempDir()
	load := containers.DefaultWorkerLoad()
	start := time.Now()
	paths, err := c.RunWorkers(ctxFor(t, 3*time.Minute), loadWorkers, load, dir)
	require.NoError(t, err)
	t.Logf("%d workers ran %d calls each in %s", loadWorkers, load.Calls, time.Since(start).Round(time.Millisecond))

	parts, err := containers.ReadResults(paths)
	require.NoError(t, err)
	merged, err := reports.Merge(parts...)
	require.NoError(t, err)

	var calls, latencyCount int64
	codes := map[string]int64{}
	byCode := map[string]int64{}
	for k, p := range parts {
		assert.Equal(t, int64(load.Calls), p.Calls, "worker %d made the calls asked for", k)
		assert.Equal(t, p.Calls, p.Codes["OK"], "worker %d: every call passed: %v", k, p.Codes)
		assert.Equal(t, containers.VaultTarget(), p.Run.Target)
		calls += p.Calls
		latencyCount += p.Latency.Count()
		for code, n := range p.Codes {
			codes[code] += n
		}
		for code, h := range p.LatencyByCode {
			byCode[code] += h.Count()
		}
	}
	assert.Equal(t, calls, merged.Calls, "merged calls are the sum of the workers'")
	assert.Equal(t, codes, merged.Codes, "merged codes add up")
	assert.Equal(t, latencyCount, merged.Latency.Count(), "the merged histogram holds every call")
	assert.Equal(t, calls, merged.Latency.Count())
	for code, n := range byCode {
		assert.Equal(t, n, merged.LatencyByCode[code].Count(), "histogram of %s", code)
	}
	var timeline int64
	for _, s := range merged.Timeline {
		timeline += s.Completed
	}
	assert.Equal(t, calls, timeline, "the merged timeline counts every call once")
	assert.Equal(t, loadWorkers*load.Concurrency, merged.Run.Concurrency, "the merged run is the load of all workers")
	t.Logf("merged: %d calls, p50 %s, p99 %s", merged.Calls, merged.Latency.Percentile(50), merged.Latency.Percentile(99))
}
