package containers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/jitbench/jitbench/harness/containers"
)

// runID labels everything this test binary creates; TestMain checks at
// the end that nothing labelled with it is left.
var runID = containers.NewRunID()

// Images are built once per test binary, on first use.
var (
	imagesOnce sync.Once
	images     containers.Images
	imagesErr  error
	binDir     string
	// dockerUsed is set once a test found a Docker engine, so the leak check has something to check.
	dockerUsed atomic.Bool
)

func TestMain(m *testing.M) {
	// Ryuk, testcontainers' reaper, would be pulled from a registry; the
	// package removes what it creates itself. Set before any testcontainers call.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	var err error
	if binDir, err = os.MkdirTemp("", "jitbench-images-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	if dockerUsed.Load() && checkLeaks() != nil {
		code = 1
	}
	os.Exit(code)
}

// checkLeaks is the run's last test: nothing labelled with runID may be
// left, whether the tests passed or not. It removes what it finds.
func checkLeaks() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	leaks, err := containers.Leaks(ctx, runID)
	if err == nil && len(leaks) == 0 {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("%d objects left", len(leaks))
	}
	fmt.Fprintf(os.Stderr, "FAIL: leak check of run %s: %v\n", runID, err)
	for _, l := range leaks {
		fmt.Fprintf(os.Stderr, "  left: %s\n", l)
	}
	_ = containers.RemoveRun(ctx, runID)
	return err
}

// requireDocker skips t where no Docker engine answers (or with -short),
// and returns the images, built on first use from this checkout.
func requireDocker(t *testing.T) containers.Images {
	t.Helper()
	if testing.Short() {
		t.Skip("container test: skipped with -short")
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
	dockerUsed.Store(true)
	imagesOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		bin := filepath.Join(binDir, "jitbench")
		if imagesErr = containers.BuildBinary(ctx, filepath.Join("..", ".."), bin); imagesErr != nil {
			return
		}
		var built []string
		images, built, imagesErr = containers.EnsureImages(ctx, bin)
		t.Logf("static binary and images ready in %s (built: %v)", time.Since(start).Round(time.Millisecond), built)
	})
	if imagesErr != nil {
		t.Fatalf("build the images: %v", imagesErr)
	}
	return images
}
