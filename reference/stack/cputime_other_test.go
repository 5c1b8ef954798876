//go:build !unix

package stack_test

import "time"

// processCPU cannot read the process's CPU time on this platform; the
// benchmarks then leave out their cpu-ns/op metric.
func processCPU() time.Duration { return 0 }
