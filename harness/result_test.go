package harness

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
	"github.com/jitbench/jitbench/scenarios"
)

// libraryScenario returns the library scenario called name.
func libraryScenario(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Find(name)
	require.NoError(t, err)
	return sc
}

// TestRunResultAgreesWithOutcomes checks that the result a scenario run
// yields counts exactly the calls the outcomes hold, by code and by reason,
// with their latencies, and carries the checks as expectations.
func TestRunResultAgreesWithOutcomes(t *testing.T) {
	tests := []struct {
		name string
		sc   *scenarios.Scenario
		mode reports.Mode
	}{
		// OK calls, then PERMISSION_DENIED / GRANT_REVOKED: a closed loop paced by an interval.
		{"revoked mid-run", libraryScenario(t, "grant-revoked-mid-run"), reports.ClosedLoop},
		// Every call fails obtaining its grant: DEADLINE_EXCEEDED / APPROVAL_PENDING in phase grant.
		{"approval too slow", libraryScenario(t, "deadline-too-short-for-approval"), reports.ClosedLoop},
		// Several callers, and calls without a reason.
		{"baseline", libraryScenario(t, "baseline"), reports.ClosedLoop},
		{"open loop", &scenarios.Scenario{Name: "open", Load: scenarios.LoadProfile{Rate: "200/s", Calls: 8},
			Expect: scenarios.Expect{Codes: map[string]string{"OK": "100%"}}}, reports.OpenLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := RunScenario(t.Context(), tt.sc)
			require.NoError(t, err)
			// Whether the expectations hold is the library test's business: here the two records must agree.
			res := rep.Result
			require.NotNil(t, res)

			codes := map[string]int64{}
			type pair struct{ code, reason string }
			reasons := map[pair]int64{}
			var slowest time.Duration
			grants := 0
			for i, o := range rep.Outcomes {
				assert.Equal(t, i, o.Index, "outcomes are in call order, numbered from 0")
				code := reason.CodeName(o.Code)
				codes[code]++
				if o.Reason != "" {
					reasons[pair{code, string(o.Reason)}]++
				}
				slowest = max(slowest, o.Latency)
				if o.GrantFetched {
					grants++
				}
			}
			assert.EqualValues(t, rep.Calls, res.Calls)
			assert.Len(t, rep.Outcomes, rep.Calls)
			assert.Equal(t, codes, res.Codes)
			got := map[pair]int64{}
			for _, rc := range res.Reasons {
				got[pair{rc.Code, rc.Reason}] = rc.Calls
			}
			assert.Equal(t, reasons, got)
			for code, n := range codes {
				assert.Equal(t, n, res.LatencyByCode[code].Count(), "latencies of %s", code)
			}
			// The histogram keeps three significant digits of the outcomes' own latencies.
			assert.InEpsilon(t, float64(slowest), float64(res.Latency.Max()), 0.002)
			if grants > 0 {
				require.Contains(t, res.Phases, PhaseGrant)
				assert.EqualValues(t, grants, res.Phases[PhaseGrant].Count())
			}

			assert.Equal(t, tt.mode, res.Run.Mode)
			assert.Equal(t, tt.sc.Name, res.Run.Name)
			assert.Equal(t, TopologyInProcess, res.Run.Target)
			names := make([]string, len(rep.Checks))
			for i, c := range rep.Checks {
				names[i] = c.Name
				assert.Equal(t, reports.Expectation{Name: c.Name, Want: c.Want, Got: c.Got, Pass: c.Pass}, res.Expectations[i])
			}
			assert.Contains(t, names, HandlerCheck)
			assert.Len(t, res.Expectations, len(rep.Checks))
		})
	}
}

// TestRunResultRoundTrips writes a scenario's result and reads it back as
// `jitbench report` does: the file is a valid jitbench.result/v1.
func TestRunResultRoundTrips(t *testing.T) {
	rep, err := RunScenario(t.Context(), libraryScenario(t, "grant-revoked-mid-run"))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, reports.Write(&buf, rep.Result))
	back, err := reports.Read(&buf)
	require.NoError(t, err)
	assert.Equal(t, rep.Result.Codes, back.Codes)
	assert.Equal(t, rep.Result.Reasons, back.Reasons)
	assert.Equal(t, rep.Result.Expectations, back.Expectations)
	assert.NotEmpty(t, back.Timeline)
}

// junitDoc is the part of a JUnit document the test reads.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name  string      `xml:"name,attr"`
		Cases []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitCase struct {
	Name    string `xml:"name,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
	} `xml:"failure"`
}

// TestFailedExpectationIsAJUnitFailure renders a run whose expectation
// fails: JUnit shows one test case per check, the failed one as a failure.
func TestFailedExpectationIsAJUnitFailure(t *testing.T) {
	sc := &scenarios.Scenario{Name: "wrong-on-purpose", Load: scenarios.LoadProfile{Calls: 3},
		Expect: scenarios.Expect{Codes: map[string]string{"PERMISSION_DENIED": "100%"}}}
	rep, err := RunScenario(t.Context(), sc)
	require.NoError(t, err)
	require.False(t, rep.Pass())

	var buf bytes.Buffer
	require.NoError(t, reports.Render(&buf, rep.Result, "junit"))
	var doc junitDoc
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &doc), buf.String())
	assert.Equal(t, len(rep.Checks), doc.Tests)
	assert.Equal(t, 1, doc.Failures)
	require.Len(t, doc.Suites, 1)
	assert.Equal(t, "jitbench.wrong-on-purpose", doc.Suites[0].Name)
	failed := slices.IndexFunc(doc.Suites[0].Cases, func(c junitCase) bool { return c.Failure != nil })
	require.GreaterOrEqual(t, failed, 0)
	c := doc.Suites[0].Cases[failed]
	assert.Equal(t, "code PERMISSION_DENIED", c.Name)
	assert.Equal(t, "code PERMISSION_DENIED: want 100%, got 0% (0 of 3)", c.Failure.Message)
}

// TestLoadRateIsCheckedWhenTheFileLoads checks that the harness's loader
// reads load.rate with the load generator's parser, so a bad rate is
// refused at its file:line:col.
func TestLoadRateIsCheckedWhenTheFileLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fast.yaml")
	require.NoError(t, os.WriteFile(path, []byte("name: fast\nsummary: s\nload:\n  rate: quick\nexpect:\n  codes: {OK: 100%}\n"), 0o600))
	_, err := LoadFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+":4:9: load.rate: ")
	assert.Contains(t, err.Error(), `"quick"`)
}
