package brokerclient

import "sync"

// maxPendingPerScope bounds the requests remembered per scope; older ones
// are dropped (they stay open at the broker until its pending timeout).
const maxPendingPerScope = 16

// pendingRequests remembers, per scope, requests left open at the broker
// when a caller's deadline ended before a decision. The next Grant for that
// scope watches such a request instead of opening another, so a caller that
// retries after APPROVAL_PENDING gets the approval its first call asked for.
//
// Each remembered request is handed to one caller only (take removes it):
// two one-shot callers must never share one request's grant.
type pendingRequests struct {
	mu sync.Mutex
	m  map[string][]string
}

// take removes and returns the oldest request remembered for key, or "".
func (p *pendingRequests) take(key string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := p.m[key]
	if len(ids) == 0 {
		return ""
	}
	id := ids[0]
	if len(ids) == 1 {
		delete(p.m, key)
	} else {
		p.m[key] = ids[1:]
	}
	return id
}

// put remembers request id, still pending, for key.
func (p *pendingRequests) put(key, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string][]string)
	}
	ids := append(p.m[key], id)
	if len(ids) > maxPendingPerScope {
		ids = ids[len(ids)-maxPendingPerScope:]
	}
	p.m[key] = ids
}
