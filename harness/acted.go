package harness

import (
	"fmt"

	"github.com/jitbench/jitbench/scenarios"
)

// ActedWant is what a fault's "acted" check expects: the system met the
// fault while calls ran. A scenario whose fault did nothing (a window that
// opened after the last call, a fault the system never reached, an undo
// that wiped another fault) fails, though its other checks might hold.
const ActedWant = "the system met it while calls ran"

// actedChecks checks that each of sc's faults acted: its window opened,
// the system met what it changed (rec.Faults' Met), and calls ran while it
// was in force. A fault the record has no account of fails.
func actedChecks(sc scenarios.Scenario, rec *Record) []Check {
	kinds := map[string]int{}
	for _, f := range sc.Faults {
		kinds[f.Kind]++
	}
	runs := map[int]FaultRun{}
	for _, r := range rec.Faults {
		runs[r.Index] = r
	}
	out := make([]Check, 0, len(sc.Faults))
	for i, f := range sc.Faults {
		name := "fault " + f.Kind + " acted"
		if kinds[f.Kind] > 1 {
			name = fmt.Sprintf("fault %d (%s) acted", i+1, f.Kind)
		}
		c := Check{Name: name, Want: ActedWant}
		r, ok := runs[i]
		switch under := callsUnder(r, rec.Outcomes); {
		case !ok:
			c.Got = "no account of it: the run did not record this fault"
		case !r.Applied:
			c.Got = "never applied: its window did not open while the load ran"
		case r.Met == 0:
			c.Got = fmt.Sprintf("applied at %v, but nothing in the system met it: %s", round(r.At), r.Effect)
		case under == 0:
			c.Got = fmt.Sprintf("applied at %v, but no call started while it was in force: %s", round(r.At), r.Effect)
		default:
			c.Got = fmt.Sprintf("%s; %d of %d calls under it (from %v)", r.Effect, under, len(rec.Outcomes), round(r.At))
			c.Pass = true
		}
		out = append(out, c)
	}
	return out
}

// callsUnder counts the calls that started while r was in force.
func callsUnder(r FaultRun, outcomes []Outcome) int {
	n := 0
	for _, o := range outcomes {
		if o.At >= r.At && (r.Until == 0 || o.At < r.Until) {
			n++
		}
	}
	return n
}
