package harness

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/containers"
)

// TestMain turns testcontainers' Ryuk reaper off before anything reads
// its settings (its image would be pulled), and after the tests checks
// that the container runs left nothing behind, whether they passed or not.
func TestMain(m *testing.M) {
	zoo.MainIfChild() // the zoo targets the external scenarios run against, as processes of their own
	containers.DisableRyuk()
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if err := containers.Sweep(ctx, containerRun); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the container runs were not cleaned up:", err)
		code = 1
	}
	cancel()
	os.Exit(code)
}
