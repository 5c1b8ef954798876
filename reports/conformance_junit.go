package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// A conformance run's JUnit document has one test case per catalog case,
// so a CI test view lists ALG-001 and its fellows by name. Skipped, known
// failing and not applicable cases carry a skipped element (JUnit has no
// "expected failure"): they neither fail the job nor pass unseen.

// WriteConformanceJUnit writes r as a JUnit XML suite named
// "jitbench.conformance", one test case per catalog case named by its id.
// A failed case's failure says what was expected and what came back; the
// text report goes in the suite's system-out.
func WriteConformanceJUnit(w io.Writer, r *ConformanceResult) error {
	secs := strconv.FormatFloat(time.Duration(r.Duration).Seconds(), 'f', 3, 64)
	suite := junitSuite{
		Name: "jitbench.conformance",
		Time: secs,
		Properties: []junitProperty{
			{"target", r.Target},
			{"profile", r.Profile},
			{"method", r.Method},
			{"summary", r.Summary().String()},
			{"jitbench_version", r.Version},
		},
	}
	if !r.Start.IsZero() {
		suite.Timestamp = r.Start.UTC().Format("2006-01-02T15:04:05")
	}
	for _, c := range r.Cases {
		jc := junitCase{
			Name:      c.ID,
			Classname: suite.Name + "." + strings.SplitN(c.ID, "-", 2)[0],
			Time:      strconv.FormatFloat(time.Duration(c.Latency).Seconds(), 'f', 3, 64),
		}
		switch c.Verdict {
		case CaseFail:
			jc.Failure = &junitFailure{
				Message: fmt.Sprintf("%s: want %s, got %s: %s", c.ID, wantCell(c), orDash(c.Got), caseNote(c)),
				Type:    c.Rule,
				Text:    caseText(c),
			}
			suite.Failures++
		case CaseSkip:
			if c.Rule == ConformanceRuleSetup {
				// Not a verdict on the target, and not a pass either: the run is an error.
				jc.Error = &junitFailure{Message: "ERROR: " + c.ID + ": " + c.Detail, Type: c.Rule, Text: caseText(c)}
				suite.Errors++
				break
			}
			jc.Skipped = &junitSkipped{Message: "skipped: " + c.Detail}
		case CaseKnownFail:
			jc.Skipped = &junitSkipped{Message: "known failing: " + c.Detail}
		case CaseNotApplicable:
			jc.Skipped = &junitSkipped{Message: "not applicable: " + c.Detail}
		case CasePass:
			jc.SystemOut = &junitText{Text: caseText(c)}
		}
		if jc.Skipped != nil {
			suite.Skipped++
		}
		suite.Cases = append(suite.Cases, jc)
		suite.Tests++
	}
	return encodeJUnit(w, suite, func(tw io.Writer) error { return WriteConformanceText(tw, r) })
}

// caseText is a case in a few lines: the fault, the expectation, and each variant's answer.
func caseText(c ConformanceCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fault: %s\nwant:  %s\n", c.Fault, wantCell(c))
	for _, v := range c.Variants {
		state := "pass"
		switch {
		case v.Skipped:
			state = "skipped"
		case !v.Pass:
			state = "FAIL " + strings.Join(v.Rules, ", ")
		}
		fmt.Fprintf(&b, "%-14s %-18s %-26s %8s  %s", v.Name, orDash(v.Got), orDash(v.Reason),
			fmtLatency(time.Duration(v.Latency)), state)
		if v.Detail != "" {
			b.WriteString(": " + v.Detail)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
