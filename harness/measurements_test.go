package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jitbench/jitbench/harness/measure"
)

func TestJudgeMeasurement(t *testing.T) {
	taken := func(name string, v measure.Verdict) measure.Figure {
		return measure.Figure{Name: name, Value: time.Second, Verdict: v, Comparison: name + " compared"}
	}
	for _, tc := range []struct {
		name    string
		r       measure.Result
		agree   bool
		pass    bool
		contain string
	}{
		{"as declared", measure.Result{Probes: 9, Verdict: measure.Match, Figures: []measure.Figure{taken("leeway", measure.Match)}}, true, true, "match"},
		{"differs, measured asked", measure.Result{Probes: 9, Verdict: measure.Differs, Figures: []measure.Figure{taken("max-lifetime", measure.Differs)}}, false, true, "differs"},
		{"differs, agree asked", measure.Result{Probes: 9, Verdict: measure.Differs, Figures: []measure.Figure{taken("max-lifetime", measure.Differs)}}, true, false, "max-lifetime compared"},
		{"one figure not taken", measure.Result{Probes: 9, Verdict: measure.Measured, Figures: []measure.Figure{
			taken("exp-tolerance", measure.Measured), {Name: "leeway", Verdict: measure.CannotMeasure, Why: "nbf is never checked"}}}, false, false, "nbf is never checked"},
		{"revocation never honoured", measure.Result{Probes: 9, Verdict: measure.Measured, Figures: []measure.Figure{
			{Name: "revocation-p50", AboveBound: true, Verdict: measure.Measured, Comparison: "still accepted after 30s"}}}, false, false, "still accepted after 30s"},
		{"a huge lifetime is a figure", measure.Result{Probes: 9, Verdict: measure.Measured, Figures: []measure.Figure{
			{Name: "max-lifetime", AboveBound: true, Verdict: measure.Measured}}}, false, true, "measured"},
		{"no probe", measure.Result{Verdict: measure.CannotMeasure, Why: "no revoke hook"}, false, false, "no revoke hook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pass := judgeMeasurement(tc.r, tc.agree)
			assert.Equal(t, tc.pass, pass, got)
			assert.Contains(t, got, tc.contain)
		})
	}
}
