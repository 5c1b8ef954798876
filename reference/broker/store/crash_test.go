package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

const (
	// crashAcks is how many acknowledged commits the parent waits for before the kill.
	crashAcks = 300
	// crashWriters commit concurrently in the helper, so that groups of
	// several commits are in flight when the kill lands.
	crashWriters = 8
	// crashHelperLimit bounds the helper should the parent die first.
	crashHelperLimit = 30 * time.Second
)

// TestCrashDurability kills a committing process with SIGKILL and checks
// that every commit it acknowledged is in the store it left. SIGKILL keeps
// the kernel's page cache, so this proves that an acknowledgement means the
// data left the process (no buffering in user space, no ack before the
// write); surviving power loss also needs the fsync, which no test here can
// cut under it.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a helper process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var acked []string
	deadline := time.NewTimer(10 * time.Second) // a bound on a real process, not a wait
	defer deadline.Stop()
wait:
	for len(acked) < crashAcks {
		select {
		case id, ok := <-lines:
			if !ok {
				break wait
			}
			acked = append(acked, id)
		case <-deadline.C:
			break wait
		}
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL on Unix
	for id := range lines {                // acknowledged before the kill landed
		acked = append(acked, id)
	}
	_ = cmd.Wait()
	require.GreaterOrEqual(t, len(acked), 50, "the helper acknowledged too few commits to test anything")
	t.Logf("%d commits acknowledged before SIGKILL", len(acked))

	s := openT(t, dir)
	stored := allRequests(t, s)
	for _, id := range acked {
		assert.Contains(t, stored, id, "acknowledged commit lost")
	}
	revs := allRevocations(t, s, 0)
	assert.GreaterOrEqual(t, len(revs), len(acked))
	for i, ev := range revs {
		assert.Equal(t, uint64(i+1), ev.GetSequence(), "gapless revocation feed")
	}
	assert.GreaterOrEqual(t, len(allAudit(t, s, 0)), len(acked))
	require.NoError(t, s.Commit(context.Background(), Batch{Requests: []*jitv1.AccessRequest{newRequest("after-crash")}}), "the store takes commits after the crash")
}

// runCrashHelper commits in a loop from crashWriters goroutines and prints
// the id of each commit once Commit has returned; it returns the exit code.
func runCrashHelper(dir string) int {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash helper:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), crashHelperLimit)
	defer cancel()
	var mu sync.Mutex // one whole line per write
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				id := fmt.Sprintf("crash-%d-%06d", w, n)
				b := Batch{
					Requests:    []*jitv1.AccessRequest{newRequest(id)},
					Revocations: []*jitv1.RevocationEvent{newRevocation("g-" + id)},
					Audit:       []AuditRecord{newAudit(id)},
				}
				if err := s.Commit(ctx, b); err != nil {
					return
				}
				mu.Lock()
				_, err := fmt.Fprintln(os.Stdout, id) // unbuffered: on the pipe before the next commit
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	_ = s.Close()
	return 0
}
