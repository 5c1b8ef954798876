package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// TopMessages is how many status messages a result keeps per code and reason.
const TopMessages = 5

// trackedMessages bounds the distinct messages a recorder counts per code
// and reason: the first ones it sees, recorder-wide; the calls of any
// further message count as untracked (in Other). It is larger than
// TopMessages so that a frequent message arriving after a few rare ones
// is still counted.
const trackedMessages = 64

// MessageCounts are the most frequent status messages of the failed calls
// of one code and reason.
type MessageCounts struct {
	// Code is the gRPC code name.
	Code string `json:"code"`
	// Reason is the machine reason; empty for calls whose status carried none.
	Reason string `json:"reason,omitempty"`
	// Top lists at most TopMessages messages, most frequent first, each
	// counted exactly; "" is a status without a message.
	Top []MessageCount `json:"top"`
	// Other counts this code and reason's calls whose message is not in Top.
	Other int64 `json:"other"`
}

// MessageCount is how many calls failed with one status message.
type MessageCount struct {
	// Message is the status message as CleanMessage keeps it: tokens redacted, at most MaxMessageRunes runes.
	Message string `json:"message"`
	// Calls is the number of calls.
	Calls int64 `json:"calls"`
}

// messageRegistry decides, for one code and reason of a recorder, which
// messages are counted: the first trackedMessages distinct ones any shard
// sees. The decision is recorder-wide and never undone, so every call with
// a tracked message is counted in some shard and the sum over the shards
// is exact; a message seen first once the registry is full is counted
// nowhere but in the untracked calls.
type messageRegistry struct {
	mu sync.Mutex
	// tracked maps each tracked message to the registry's own copy. It is
	// replaced, never changed, so shards read it without the lock.
	tracked atomic.Pointer[map[string]string]
}

// track returns the registry's copy of clean and whether it is counted,
// registering it when there is room.
func (g *messageRegistry) track(clean string) (string, bool) {
	if m := g.tracked.Load(); m != nil {
		if k, ok := (*m)[clean]; ok {
			return k, true
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := map[string]string{}
	if m := g.tracked.Load(); m != nil {
		old = *m
	}
	if k, ok := old[clean]; ok {
		return k, true
	}
	if len(old) >= trackedMessages {
		return "", false
	}
	next := make(map[string]string, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	k := strings.Clone(clean)
	next[k] = k
	g.tracked.Store(&next)
	return k, true
}

// messageTally counts the messages of one code and reason in one recorder
// shard, under the shard's lock.
type messageTally struct {
	reg       *messageRegistry
	counts    map[string]*int64
	untracked int64
	// lastRaw is the last message as recorded and last its counter, so a
	// run of one message costs a string comparison, not a cleaning.
	lastRaw string
	last    *int64
}

// add counts one call that failed with msg.
func (t *messageTally) add(msg string) {
	if t.last != nil && msg == t.lastRaw {
		*t.last++
		return
	}
	clean := CleanMessage(msg)
	n := t.counts[clean]
	if n == nil {
		if key, ok := t.reg.track(clean); ok {
			if t.counts == nil {
				t.counts = make(map[string]*int64, 4)
			}
			n = new(int64)
			t.counts[key] = n
		} else {
			n = &t.untracked
		}
	}
	*n++
	t.lastRaw, t.last = msg, n
}

// addTo adds the tally's counts to p, the code and reason's counts over
// every shard.
func (t *messageTally) addTo(p *messagePart) {
	if p.counts == nil {
		p.counts = map[string]int64{}
	}
	for m, n := range t.counts {
		p.counts[m] += *n
	}
	p.unlisted += t.untracked
}

// messagePart is one part's messages of one code and reason, for combining:
// the counts it knows exactly, and how many of its calls it does not list.
type messagePart struct {
	counts   map[string]int64
	unlisted int64
}

// combineMessages adds up the parts of one code and reason and keeps the
// TopMessages most frequent messages whose sum is exact. A message is
// exact when every part either lists it or lists all its calls (unlisted
// is zero, so the message had none there); a message some part may hide
// in its unlisted calls is left out, so a kept count is never an
// underestimate. total is the code and reason's calls over all parts; the
// result's Other is whatever Top does not hold.
func combineMessages(code, reason string, total int64, parts []messagePart) (MessageCounts, bool) {
	sums := map[string]int64{}
	for _, p := range parts {
		for m, n := range p.counts {
			sums[m] += n
		}
	}
	var top []MessageCount
	for m, n := range sums {
		exact := true
		for _, p := range parts {
			if _, listed := p.counts[m]; !listed && p.unlisted > 0 {
				exact = false
				break
			}
		}
		if exact && n > 0 {
			top = append(top, MessageCount{Message: m, Calls: n})
		}
	}
	sortMessages(top)
	if len(top) > TopMessages {
		top = top[:TopMessages]
	}
	mc := MessageCounts{Code: code, Reason: reason, Top: top, Other: total}
	for _, m := range top {
		mc.Other -= m.Calls
	}
	if len(top) == 0 {
		return mc, false
	}
	return mc, true
}

// sortMessages orders messages most frequent first, then by text.
func sortMessages(ms []MessageCount) {
	slices.SortFunc(ms, func(a, b MessageCount) int {
		if c := cmp.Compare(b.Calls, a.Calls); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
}

// sortMessageCounts orders the entries by code, then reason.
func sortMessageCounts(ms []MessageCounts) {
	slices.SortFunc(ms, func(a, b MessageCounts) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
}

// pairCalls returns the calls of each failed (code, reason), the calls
// without a reason under reason "".
func (r *Result) pairCalls() map[pairKey]int64 {
	out := map[pairKey]int64{}
	for _, rc := range r.Reasons {
		out[pairKey{rc.Code, rc.Reason}] += rc.Calls
	}
	for code, n := range r.unexplained() {
		out[pairKey{code, ""}] = n
	}
	return out
}

// messageParts returns r's messages as parts to combine, by code and
// reason; a failed code and reason r has calls of but no entry for
// (a result written before messages were kept) lists none of them.
func (r *Result) messageParts() map[pairKey]messagePart {
	out := map[pairKey]messagePart{}
	for k, n := range r.pairCalls() {
		out[k] = messagePart{unlisted: n}
	}
	for _, mc := range r.Messages {
		k := pairKey{mc.Code, mc.Reason}
		p := messagePart{counts: make(map[string]int64, len(mc.Top)), unlisted: mc.Other}
		for _, m := range mc.Top {
			p.counts[m.Message] = m.Calls
		}
		out[k] = p
	}
	return out
}

// checkMessages verifies the messages of a result read from a file: each
// entry names a failed code and reason with calls, lists at most
// TopMessages distinct clean messages with positive counts, and with Other
// accounts for exactly that code and reason's calls.
func (r *Result) checkMessages() error {
	pairs := r.pairCalls()
	seen := map[pairKey]bool{}
	for i := range r.Messages {
		mc := &r.Messages[i]
		k := pairKey{mc.Code, mc.Reason}
		where := fmt.Sprintf("messages[%d] (%s %s)", i, mc.Code, orNoReason(mc.Reason))
		total, ok := pairs[k]
		switch {
		case mc.Code == "OK" || !ok || total == 0:
			return fmt.Errorf("%s: no failed calls of that code and reason", where)
		case seen[k]:
			return fmt.Errorf("%s: listed twice", where)
		case len(mc.Top) == 0 || len(mc.Top) > TopMessages:
			return fmt.Errorf("%s: %d messages, want 1 to %d", where, len(mc.Top), TopMessages)
		case mc.Other < 0:
			return fmt.Errorf("%s: negative other", where)
		}
		seen[k] = true
		sum := mc.Other
		texts := map[string]bool{}
		for j, m := range mc.Top {
			switch {
			case m.Calls <= 0:
				return fmt.Errorf("%s: top[%d] has %d calls", where, j, m.Calls)
			case texts[m.Message]:
				return fmt.Errorf("%s: top[%d] is listed twice", where, j)
			case CleanMessage(m.Message) != m.Message:
				return fmt.Errorf("%s: top[%d] is not a message as jitbench keeps it (unredacted, too long or with control characters)", where, j)
			}
			texts[m.Message] = true
			sum += m.Calls
		}
		if sum != total {
			return fmt.Errorf("%s: messages and other add up to %d calls, the code and reason have %d", where, sum, total)
		}
		sortMessages(mc.Top)
	}
	sortMessageCounts(r.Messages)
	return nil
}

// orNoReason names an empty reason as the tables do.
func orNoReason(reason string) string {
	if reason == "" {
		return "(no reason)"
	}
	return reason
}
