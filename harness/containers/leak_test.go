package containers_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/containers"
)

// fakeTB is a test that fails: it records failures and cleanups, and
// FailNow ends its goroutine the way testing.T's does. Its cleanups run
// only when the real test asks, so the test can look in between.
type fakeTB struct {
	mu       sync.Mutex
	failures []string
	cleanups []func()
}

var _ containers.TB = (*fakeTB)(nil)

func (f *fakeTB) Helper() {}

func (f *fakeTB) Cleanup(fn func()) { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// runCleanups runs the cleanups last-registered first, as testing does.
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// run runs fn as the body of the fake test, in its own goroutine, and waits for it to end.
func (f *fakeTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

// leaksOf lists what run left.
func leaksOf(t *testing.T, run string) []containers.Object {
	t.Helper()
	leaks, err := containers.Leaks(ctxFor(t, waitCall), run)
	require.NoError(t, err)
	return leaks
}

// TestCleanupAfterFailedTest: a test that fails with a cluster running
// (and its broker paused, the hardest state to remove) still leaves
// nothing behind, because StartTB registered the cleanup first.
func TestCleanupAfterFailedTest(t *testing.T) {
	t.Parallel()
	im := requireDocker(t)
	run := containers.NewRunID() // a run of its own, so the check sees only this test's objects
	f := &fakeTB{}
	reached := false
	f.run(func() {
		c := containers.StartTB(f, containers.Options{Images: im, RunID: run})
		assert.NoError(t, c.PauseBroker(ctxFor(t, waitCall)))
		f.Fatalf("deliberate failure with the cluster running")
		reached = true
	})
	require.Equal(t, []string{"deliberate failure with the cluster running"}, f.failures)
	require.False(t, reached, "Fatalf ended the fake test")
	left := leaksOf(t, run)
	assert.Len(t, left, 7, "before its cleanup the cluster is all there (broker, vault, 4 networks, volume): %v", left)

	f.runCleanups()
	assert.Empty(t, leaksOf(t, run), "after the failed test's cleanup")
	assert.Len(t, f.failures, 1, "the cleanup itself reported no error: %v", f.failures)
}

// TestCleanupAfterFailedStart: a cluster whose Vault cannot start (a bad
// flag: it exits at once) fails the test quickly, with the Vault's own
// words, and its cleanup removes what the start had created.
func TestCleanupAfterFailedStart(t *testing.T) {
	t.Parallel()
	im := requireDocker(t)
	run := containers.NewRunID()
	f := &fakeTB{}
	f.run(func() {
		containers.StartTB(f, containers.Options{Images: im, RunID: run, VaultArgs: []string{"--no-such-flag"}})
		t.Error("StartTB returned although the Vault cannot start")
	})
	require.Len(t, f.failures, 1)
	assert.Contains(t, f.failures[0], "exit code 2", "the wait stops when the Vault exits, and says how")
	assert.Contains(t, f.failures[0], "unknown flag: --no-such-flag", "with the container's last output")
	assert.Empty(t, leaksOf(t, run), "Start removed what it had created")

	f.runCleanups()
	assert.Empty(t, leaksOf(t, run))
	assert.Len(t, f.failures, 1, "the cleanup reported no error: %v", f.failures)
}

// TestStartImage runs one image alone, as `jitbench conformance --image`
// will: it is ready once it answers gRPC on the host, and Close removes it.
func TestStartImage(t *testing.T) {
	t.Parallel()
	im := requireDocker(t)
	run := containers.NewRunID()
	ctr, err := containers.StartImage(ctxFor(t, waitChange), containers.ImageOptions{Image: im.Broker, Port: containers.BrokerPort, RunID: run})
	require.NoError(t, err)
	require.NoError(t, containers.WaitHealthy(ctxFor(t, waitCall), ctr.Addr))
	assert.Len(t, leaksOf(t, run), 1)
	require.NoError(t, ctr.Close(context.Background()))
	assert.Empty(t, leaksOf(t, run))

	_, err = containers.StartImage(ctxFor(t, waitCall), containers.ImageOptions{Image: im.Broker})
	assert.ErrorIs(t, err, containers.ErrBadOptions)
	_, err = containers.StartImage(ctxFor(t, waitCall), containers.ImageOptions{Image: "jitbench-no-such-image:dev", Port: 7443, RunID: run})
	assert.ErrorIs(t, err, containers.ErrNoImage, "never pulled")
	assert.Empty(t, leaksOf(t, run))
}

// TestSweep: what a run left is reported and removed; a clean run passes.
func TestSweep(t *testing.T) {
	t.Parallel()
	im := requireDocker(t)
	run := containers.NewRunID()
	_, err := containers.StartImage(ctxFor(t, waitChange), containers.ImageOptions{Image: im.Broker, Port: containers.BrokerPort, RunID: run})
	require.NoError(t, err)
	err = containers.Sweep(ctxFor(t, waitChange), run)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run "+run+" left 1 objects: [container jitbench-")
	assert.Empty(t, leaksOf(t, run), "swept")
	assert.NoError(t, containers.Sweep(ctxFor(t, waitChange), run))
}
