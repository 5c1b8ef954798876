//go:build !unix

package proxy_test

import "time"

// processCPU cannot tell the CPU time here: CPU figures are left out.
func processCPU() time.Duration { return 0 }
