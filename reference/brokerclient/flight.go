package brokerclient

import (
	"context"
	"sync"

	"github.com/jitbench/jitbench/reference/interceptor"
)

// flights lets concurrent Grant calls for one scope share one access request
// instead of each opening its own (which would ask reviewers to approve the
// same thing ten times). It is singleflight, with two differences that
// matter here: a waiter leaves when its own context ends, and it can read
// the shared attempt's progress to explain why.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one shared attempt.
type flight struct {
	done    chan struct{}
	cred    interceptor.Credential
	err     error
	prog    progress
	callers int // leader included; read by tests
}

// do runs fn for key unless an attempt is already running, in which case it
// waits for that one. The leader runs fn under its own context; leader
// reports whether this caller was it.
func (fs *flights) do(ctx context.Context, key string, fn func(*progress) (interceptor.Credential, error)) (cred interceptor.Credential, p *progress, leader bool, err error) {
	fs.mu.Lock()
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	if f, ok := fs.m[key]; ok {
		f.callers++
		fs.mu.Unlock()
		select {
		case <-f.done:
			return f.cred, &f.prog, false, f.err
		case <-ctx.Done():
			return interceptor.Credential{}, &f.prog, false, errInterrupted
		}
	}
	f := &flight{done: make(chan struct{}), callers: 1}
	fs.m[key] = f
	fs.mu.Unlock()

	defer func() {
		// Deferred so that waiters are released even if fn panics.
		fs.mu.Lock()
		delete(fs.m, key)
		fs.mu.Unlock()
		close(f.done)
	}()
	f.cred, f.err = fn(&f.prog)
	return f.cred, &f.prog, true, f.err
}

// callers returns how many callers share the running attempt for key.
func (fs *flights) callers(key string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok {
		return f.callers
	}
	return 0
}
