package token

import "time"

// forgetEntry is one id of a ReplayGuard and the last instant it must be held.
type forgetEntry struct {
	forget time.Time
	jti    string
}

// forgetHeap is a binary min-heap of entries by forget time. It is written
// out rather than built on container/heap so a push does not box the entry.
type forgetHeap []forgetEntry

// min returns the entry to forget first; the heap must not be empty.
func (h forgetHeap) min() forgetEntry { return h[0] }

func (h *forgetHeap) push(e forgetEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !s[i].forget.Before(s[parent].forget) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

// pop removes and returns the entry to forget first; the heap must not be empty.
func (h *forgetHeap) pop() forgetEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = forgetEntry{} // drop the string so the id can be collected
	s = s[:last]
	for i := 0; ; {
		smallest, l, r := i, 2*i+1, 2*i+2
		if l < len(s) && s[l].forget.Before(s[smallest].forget) {
			smallest = l
		}
		if r < len(s) && s[r].forget.Before(s[smallest].forget) {
			smallest = r
		}
		if smallest == i {
			break
		}
		s[i], s[smallest] = s[smallest], s[i]
		i = smallest
	}
	*h = s
	return top
}
