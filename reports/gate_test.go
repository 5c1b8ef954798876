package reports_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

func TestParseGates(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want reports.Gate
	}{
		{"p99>+10%", reports.Gate{Metric: "p99", Op: ">", Kind: reports.Relative, Threshold: 0.1}},
		{"p50>+5ms", reports.Gate{Metric: "p50", Op: ">", Kind: reports.Change, Threshold: 5000}},
		{"p99.9 > 2s", reports.Gate{Metric: "p99.9", Op: ">", Kind: reports.Level, Threshold: 2_000_000}},
		{"max>=1.5s", reports.Gate{Metric: "max", Op: ">=", Kind: reports.Level, Threshold: 1_500_000}},
		{"mean>+250us", reports.Gate{Metric: "mean", Op: ">", Kind: reports.Change, Threshold: 250}},
		{"error_rate>1%", reports.Gate{Metric: "error_rate", Op: ">", Kind: reports.Level, Threshold: 0.01}},
		{"error_rate>+0.5pp", reports.Gate{Metric: "error_rate", Op: ">", Kind: reports.Change, Threshold: 0.005}},
		{"OK<99%", reports.Gate{Metric: "OK", Op: "<", Kind: reports.Level, Threshold: 0.99}},
		{"PERMISSION_DENIED>+50%", reports.Gate{Metric: "PERMISSION_DENIED", Op: ">", Kind: reports.Relative, Threshold: 0.5}},
		{"GRANT_EXPIRED>0%", reports.Gate{Metric: "GRANT_EXPIRED", Op: ">", Kind: reports.Level, Threshold: 0}},
		{"throughput<-5%", reports.Gate{Metric: "throughput", Op: "<", Kind: reports.Relative, Threshold: -0.05}},
		{"calls<1000", reports.Gate{Metric: "calls", Op: "<", Kind: reports.Level, Threshold: 1000}},
		{"p90<=-1ms", reports.Gate{Metric: "p90", Op: "<=", Kind: reports.Change, Threshold: -1000}},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			gates, err := reports.ParseGates(tt.expr)
			require.NoError(t, err)
			require.Len(t, gates, 1)
			tt.want.Expr = tt.expr
			assert.Equal(t, tt.want, gates[0])
		})
	}

	gates, err := reports.ParseGates(" p99>+10%, p50>+5ms ,error_rate>1%,OK<99%")
	require.NoError(t, err)
	assert.Len(t, gates, 4)
	gates, err = reports.ParseGates("")
	require.NoError(t, err)
	assert.Empty(t, gates)
}

func TestParseGatesRejects(t *testing.T) {
	for _, tt := range []struct {
		input, quoted, want string
	}{
		{"p99", "p99", "want METRIC OP VALUE"},
		{"p99>+10%,", "", "empty gate"},
		{"p99=>10ms", "p99=>10ms", "want METRIC OP VALUE"},
		{"p98>10ms", "p98>10ms", `unknown metric "p98"`},
		{"PERMISION_DENIED>1%", "PERMISION_DENIED>1%", `unknown metric "PERMISION_DENIED"`},
		{"p99>10", "p99>10", "p99 needs a unit"},
		{"p99>10%", "p99>10%", "p99 is not a share"},
		{"p99>+1pp", "p99>+1pp", "percentage points apply to shares"},
		{"error_rate>1pp", "error_rate>1pp", "needs a sign"},
		{"error_rate>5ms", "error_rate>5ms", "error_rate is not a latency"},
		{"p99>10parsecs", "p99>10parsecs", `unknown unit "parsecs"`},
		{"calls>10%", "calls>10%", "calls is not a share"},
		{"ok, p99>+10%", "ok", "want METRIC OP VALUE"},
	} {
		t.Run(tt.input, func(t *testing.T) {
			_, err := reports.ParseGates(tt.input)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `gate "`+tt.quoted+`"`, "the error quotes the bad gate")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// slower returns the fixture with every call's latency scaled by factor.
func slower(t *testing.T, factor float64) *reports.Result {
	t.Helper()
	rec := reports.NewRecorder(fixtureRun())
	for _, s := range fixtureSamples() {
		s.Latency = time.Duration(float64(s.Latency) * factor)
		rec.Record(s)
	}
	return rec.Finish()
}

func TestDiffAndCheck(t *testing.T) {
	base := fixture(t)
	next := slower(t, 1.2)
	c := reports.Diff(base, next)

	p99, ok := c.Delta("p99")
	require.True(t, ok)
	assert.Equal(t, reports.Latency, p99.Unit)
	assert.InDelta(t, 0.2, p99.Relative(), 0.01)
	okShare, ok := c.Delta("OK")
	require.True(t, ok)
	assert.InDelta(t, 0.951, okShare.Next, 1e-9)
	unseen, ok := c.Delta("GRANT_REVOKED")
	require.True(t, ok, "a reason neither result saw is a zero share")
	assert.Zero(t, unseen.Next)
	_, ok = c.Delta("p98")
	assert.False(t, ok)

	gates, err := reports.ParseGates("p99>+10%,p50>+5ms,error_rate>1%,OK<99%,error_rate>+0.5pp,GRANT_REVOKED>0%,p99>+25%")
	require.NoError(t, err)
	verdicts := c.Check(gates)
	require.Len(t, verdicts, len(gates))
	failed := map[string]bool{}
	for _, v := range verdicts {
		failed[v.Gate.Expr] = v.Failed
	}
	assert.Equal(t, map[string]bool{
		"p99>+10%":          true,  // +20 %
		"p50>+5ms":          false, // p50 is ~1.7 ms: +0.35 ms
		"error_rate>1%":     true,  // 4.9 %
		"OK<99%":            true,  // 95.1 %
		"error_rate>+0.5pp": false, // same codes
		"GRANT_REVOKED>0%":  false,
		"p99>+25%":          false,
	}, failed)
	assert.Len(t, reports.Failures(verdicts), 3)
	assert.Regexp(t, `^FAIL p99>\+10%: p99 1\.90s -> 2\.28s, \+38\dms \(\+20\.\d%\)$`, verdicts[0].String())
	assert.Equal(t, "FAIL OK<99%: OK is 95.10% (base 95.10%)", verdicts[3].String())
}

// A threshold written as a share compares equal to the same share computed
// from counts, despite floating point.
func TestGateBoundaries(t *testing.T) {
	base := fixture(t)
	c := reports.Diff(base, base)
	gates, err := reports.ParseGates("OK<95.1%,OK>95.1%,OK<=95.1%,p99>+0%,p99>=+0%")
	require.NoError(t, err)
	var got []bool
	for _, v := range c.Check(gates) {
		got = append(got, v.Failed)
	}
	assert.Equal(t, []bool{false, false, true, false, true}, got)
}

func TestRelativeFromZero(t *testing.T) {
	d := reports.Delta{Base: 0, Next: 3}
	assert.True(t, math.IsInf(d.Relative(), 1))
	assert.Zero(t, reports.Delta{}.Relative())
	assert.InDelta(t, -0.5, reports.Delta{Base: 4, Next: 2}.Relative(), 1e-12)
}

func TestWriteComparisonGolden(t *testing.T) {
	c := reports.Diff(fixture(t), slower(t, 1.2))
	gates, err := reports.ParseGates("p99>+10%,error_rate>1%,p50>+5ms")
	require.NoError(t, err)
	verdicts := c.Check(gates)
	for _, format := range []string{"text", "md"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, reports.WriteComparison(&b, c, verdicts, format))
			golden(t, "diff."+format, b.Bytes())
		})
	}
	err = reports.WriteComparison(&bytes.Buffer{}, c, nil, "html")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"html"`)
}
