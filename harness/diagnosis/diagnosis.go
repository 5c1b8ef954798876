package diagnosis

import "strings"

// Diagnosis is the explanation of one failed call.
type Diagnosis struct {
	// Cause is a stable id (the Cause constants); CauseUnknown when Known is false.
	Cause string
	// Summary says what happened in one line, with the figures.
	Summary string
	// Fix says what to change, concretely.
	Fix string
	// Known is false when the cause cannot be told; Summary then says what was checked and found fine.
	Known bool
}

// strength ranks evidence: the strongest finding names the cause.
type strength int

const (
	// none: no evidence for the cause.
	none strength = iota
	// byWords: the message's words (or a reason outside the reference catalog).
	byWords
	// byFault: a fault in force that produces the cause.
	byFault
	// byReason: a reason of the reference catalog the target sent.
	byReason
	// byEvidence: the tokens' contents, the timings, the phase and code.
	byEvidence
)

// finding is what a rule found: how strong, and about which credential or fault.
type finding struct {
	by    strength
	cred  *credential
	fault *fault
}

// Explain names the most likely cause of the failed call c to the target t.
// The strongest finding of the rule table wins, the earlier row among equals;
// when no rule finds anything the diagnosis is unknown and says what was
// checked and found fine.
func Explain(c Call, t Target) Diagnosis {
	f := gather(c, t)
	best, at := finding{}, -1
	for i, r := range rules {
		if h := r.match(f); h.by > best.by {
			best, at = h, i
		}
	}
	if at < 0 {
		summary, fix := f.unknown()
		return Diagnosis{Cause: CauseUnknown, Summary: f.finish(f.head() + ": " + summary), Fix: f.finish(fix)}
	}
	r := rules[at]
	body, fix := r.say(f, best)
	if also := f.alsoInForce(r.mention, best.fault); also != "" {
		body += "; " + also
	}
	return Diagnosis{Cause: r.cause, Summary: f.finish(f.head() + ": " + body), Fix: f.finish(fix), Known: true}
}

// finish makes text fit a diagnosis: no part of a token sent, one line.
func (f *facts) finish(s string) string {
	return oneLine(f.red.text(strings.TrimSpace(s)))
}
