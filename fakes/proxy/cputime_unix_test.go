//go:build unix

package proxy_test

import (
	"syscall"
	"time"
)

// processCPU returns the user plus system CPU time the process has used so
// far, or 0 when it cannot tell.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
