package scenarios

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v4"
)

// checkWindows refuses fault windows that cannot work: one that opens
// after more calls than the load makes, and two faults that take the same
// thing whole (LoadOptions.Holds) with windows that overlap, where layers
// cannot compose (a paused container cannot also be killed).
func (d *decoder) checkWindows(root *yaml.Node, s *Scenario, opts LoadOptions) error {
	items := mapValue(root, "faults")
	node := func(i int) *yaml.Node {
		if items != nil && i < len(items.Content) {
			return items.Content[i]
		}
		return root
	}
	for i, f := range s.Faults {
		if f.AfterCalls > 0 && s.Load.Calls > 0 && f.AfterCalls >= s.Load.Calls {
			at := mapValue(node(i), "after_calls")
			return d.At(at, "after_calls %d: the load makes %d calls, so no call would run under this fault: open it after fewer calls",
				f.AfterCalls, s.Load.Calls)
		}
	}
	if opts.Holds == nil {
		return nil
	}
	for i, f := range s.Faults {
		held := opts.Holds(f.Kind)
		if held == "" {
			continue
		}
		for j, g := range s.Faults[:i] {
			if opts.Holds(g.Kind) != held || !overlap(f, g) {
				continue
			}
			return d.At(node(i), "fault %s overlaps fault %s at line %d (%s): both take %s whole, so their windows cannot overlap: give them windows that do not",
				f.Kind, g.Kind, node(j).Line, window(g), held)
		}
	}
	return nil
}

// overlap reports whether the windows of f and g may be open at once. A
// window that opens after a number of calls has no known time: it may
// overlap anything.
func overlap(f, g Fault) bool {
	if f.AfterCalls > 0 || g.AfterCalls > 0 {
		return true
	}
	return f.Start < end(g) && g.Start < end(f)
}

// end is when f's window closes; open to the end of the run, the latest time there is.
func end(f Fault) time.Duration {
	if f.Duration == 0 {
		return time.Duration(1<<63 - 1)
	}
	return f.Start + f.Duration
}

// window words when f is open, for errors: "from 1s to 2s", "from 0s to the end".
func window(f Fault) string {
	from := f.Start.String()
	if f.AfterCalls > 0 {
		from = fmt.Sprintf("after %d calls", f.AfterCalls)
	} else {
		from = "from " + from
	}
	if f.Duration == 0 {
		return from + " to the end"
	}
	return fmt.Sprintf("%s for %s", from, f.Duration)
}
