package reports_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

func TestRenderGolden(t *testing.T) {
	res := fixture(t)
	for _, tt := range []struct {
		format, file string
	}{
		{"text", "fixture.txt"},
		{"md", "fixture.md"},
		{"junit", "fixture.junit.xml"},
		{"prom", "fixture.prom"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			golden(t, tt.file, render(t, res, tt.format))
		})
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	err := reports.Render(&bytes.Buffer{}, fixture(t), "pdf")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"pdf"`)
	assert.Contains(t, err.Error(), "html, json, junit, md, prom, text")
	assert.Equal(t, []string{"html", "json", "junit", "md", "prom", "text"}, reports.Formats())
}

// A target that fails every call, or a run in which nothing completed,
// still gets a full report in every format.
func TestRenderEmptyAndAllFailing(t *testing.T) {
	empty := reports.NewRecorder(reports.Run{Method: "/demo.v1.Vault/Read", Mode: reports.ClosedLoop, Concurrency: 4}).Finish()

	rec := reports.NewRecorder(reports.Run{Method: "/demo.v1.Vault/Read", Target: "127.0.0.1:1", Mode: reports.OpenLoop, Rate: 10})
	for i := range 30 {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		rec.Record(reports.Sample{Intended: at, Start: at, Latency: us(300), Code: "UNAVAILABLE", Reason: "BROKER_UNAVAILABLE"})
	}
	failing := rec.Finish()

	for name, res := range map[string]*reports.Result{"empty": empty, "failing": failing} {
		for _, format := range reports.Formats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				assert.NotEmpty(t, render(t, res, format))
			})
		}
	}
	assert.Contains(t, string(render(t, failing, "text")), "100.00% errors")
}
