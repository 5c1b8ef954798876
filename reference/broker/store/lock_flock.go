//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often lockFile retries a lock another process holds.
const lockPoll = 50 * time.Millisecond

// lockFile takes the exclusive flock bbolt takes, on f, so that checkFile
// reads a file no other broker is writing. bbolt, handed the same open
// file, then takes its own lock on it at once (a flock belongs to the open
// file, not the descriptor), and releases it when it closes the file.
func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		case time.Now().After(deadline):
			return errLockHeld
		}
		time.Sleep(lockPoll)
	}
}
