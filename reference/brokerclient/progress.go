package brokerclient

import "sync"

// progress is what one attempt to obtain a grant has learnt so far. Callers
// sharing the attempt read it when their own deadline ends, so each can say
// which request it waited for and whether the broker was failing.
type progress struct {
	mu        sync.Mutex
	requestID string
	failures  int // consecutive failed attempts to reach the broker
	lastErr   error
}

// snapshot is a copy of a progress, safe to read without locking.
type snapshot struct {
	requestID string
	failures  int
	lastErr   error
}

func (p *progress) setRequest(id string) {
	p.mu.Lock()
	p.requestID = id
	p.mu.Unlock()
}

// fail records a failed attempt and returns how many failed in a row.
func (p *progress) fail(err error) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures++
	p.lastErr = err
	return p.failures
}

// reached records that the broker answered, ending a run of failures.
func (p *progress) reached() {
	p.mu.Lock()
	p.failures, p.lastErr = 0, nil
	p.mu.Unlock()
}

func (p *progress) snapshot() snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return snapshot{requestID: p.requestID, failures: p.failures, lastErr: p.lastErr}
}
