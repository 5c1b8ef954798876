package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The JUnit XML shape CI systems read (Jenkins, GitLab, GitHub test
// reporters): testsuites > testsuite > testcase, a failure element per
// failed case, properties for the run's settings.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr,omitempty"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Error     *junitFailure `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
}

// junitSkipped marks a case that neither passed nor failed (JUnit has no
// "expected failure", so known-failing conformance cases use it too).
type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is multi-line text kept readable in a CDATA section.
type junitText struct {
	Text string `xml:",cdata"`
}

// WriteJUnit writes r's expectations as a JUnit XML test suite, one test
// case per expectation; a failed one carries what was expected and what was
// measured. The text report goes in system-out for whoever opens the suite.
// A result without expectations is a suite of zero tests.
func WriteJUnit(w io.Writer, r *Result) error {
	name := r.Run.Name
	if name == "" {
		name = "load"
	}
	secs := strconv.FormatFloat(time.Duration(r.Run.Duration).Seconds(), 'f', 3, 64)
	suite := junitSuite{
		Name: "jitbench." + name,
		Time: secs,
		Properties: []junitProperty{
			{"target", r.Run.Target},
			{"method", r.Run.Method},
			{"load", loadLine(r.Run)},
			{"calls", strconv.FormatInt(r.Calls, 10)},
			{"error_rate", fmtShare(r.ErrorRate())},
			{"p99", fmtLatency(r.Latency.Percentile(99))},
			{"jitbench_version", r.Run.Version},
		},
	}
	if !r.Run.Start.IsZero() {
		suite.Timestamp = r.Run.Start.UTC().Format("2006-01-02T15:04:05")
	}
	for _, e := range r.Expectations {
		c := junitCase{Name: e.Name, Classname: suite.Name, Time: "0"}
		if !e.Pass {
			c.Failure = &junitFailure{
				Message: fmt.Sprintf("%s: want %s, got %s", e.Name, e.Want, e.Got),
				Type:    "expectation",
				Text:    fmt.Sprintf("expected: %s\nmeasured: %s\n", e.Want, e.Got),
			}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
		suite.Tests++
	}
	return encodeJUnit(w, suite, func(tw io.Writer) error { return WriteText(tw, r) })
}

// encodeJUnit writes suite as a one-suite JUnit document, with the text
// report written by text in the suite's system-out.
func encodeJUnit(w io.Writer, suite junitSuite, text func(io.Writer) error) error {
	var b strings.Builder
	if err := text(&b); err != nil {
		return err
	}
	suite.SystemOut = &junitText{Text: b.String()}
	doc := junitSuites{Name: "jitbench", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
