package reports_test

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// junitDoc is the JUnit schema as CI systems read it, written here
// independently of the renderer's own types.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Time       string `xml:"time,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
		SystemOut string `xml:"system-out"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, b []byte) junitDoc {
	t.Helper()
	var doc junitDoc
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	require.NoError(t, dec.Decode(&doc), "not valid XML:\n%s", b)
	return doc
}

func TestJUnitReadsBack(t *testing.T) {
	res := fixture(t)
	doc := readJUnit(t, render(t, res, "junit"))
	assert.Equal(t, 3, doc.Tests)
	assert.Equal(t, 2, doc.Failures)
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	assert.Equal(t, "jitbench.read-under-freeze", s.Name)
	assert.Equal(t, 3, s.Tests)
	assert.Equal(t, 2, s.Failures)
	assert.Equal(t, "2026-01-01T00:00:00", s.Timestamp)
	require.Len(t, s.Cases, 3)
	assert.Nil(t, s.Cases[0].Failure, "a passed expectation has no failure")
	f := s.Cases[1].Failure
	require.NotNil(t, f)
	assert.Equal(t, "p99", s.Cases[1].Name)
	assert.Equal(t, "p99: want < 100ms, got "+res.Expectations[1].Got, f.Message)
	assert.Contains(t, f.Text, "expected: < 100ms")
	assert.Contains(t, f.Text, "measured: "+res.Expectations[1].Got)
	assert.Contains(t, s.SystemOut, "PERMISSION_DENIED")
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	assert.Equal(t, "/demo.v1.Vault/Read", props["method"])
	assert.Equal(t, "1000", props["calls"])
}

// Names that look like markup, and text that would end a CDATA section,
// still make a valid document that reads back unchanged.
func TestJUnitEscapes(t *testing.T) {
	res := fixture(t)
	res.Run.Name = `<run & "name">`
	res.Expectations = []reports.Expectation{{Name: "a ]]> b <c>", Want: "< 1 & > 0", Got: "]]>", Pass: false}}
	doc := readJUnit(t, render(t, res, "junit"))
	require.Len(t, doc.Suites[0].Cases, 1)
	c := doc.Suites[0].Cases[0]
	assert.Equal(t, "a ]]> b <c>", c.Name)
	require.NotNil(t, c.Failure)
	assert.Equal(t, "expected: < 1 & > 0\nmeasured: ]]>\n", c.Failure.Text)
	assert.Equal(t, "jitbench."+res.Run.Name, doc.Suites[0].Name)
}

func TestJUnitWithoutExpectations(t *testing.T) {
	res := fixture(t)
	res.Expectations = nil
	doc := readJUnit(t, render(t, res, "junit"))
	assert.Zero(t, doc.Tests)
	require.Len(t, doc.Suites, 1)
	assert.Empty(t, doc.Suites[0].Cases)
}
