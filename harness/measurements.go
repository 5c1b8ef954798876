package harness

import (
	"context"
	"fmt"
	"strings"

	"github.com/jitbench/jitbench/harness/measure"
	"github.com/jitbench/jitbench/scenarios"
)

// MeasurementsCheck names the check of expect.measurements, one per measurement: "measurement leeway".
const MeasurementsCheck = "measurement"

// Measurements returns the names a scenario's measure may list.
func Measurements() []string { return measure.Names() }

// measureTarget takes the scenario's measurements of the user's service,
// in order, before its load: a measurement that cannot be taken (no revoke
// hook, say) is a result that says why; one that went wrong (the service
// refused a valid control call) is the run's error.
func (e *Env) measureTarget(ctx context.Context) ([]measure.Result, error) {
	if len(e.sc.Measure) == 0 {
		return nil, nil
	}
	x, ok := e.sys.(*externalSystem)
	if !ok {
		return nil, fmt.Errorf("measure %s: %w", strings.Join(e.sc.Measure, ", "), ErrNeedsTarget)
	}
	t := measure.FromSession(x.session)
	out := make([]measure.Result, 0, len(e.sc.Measure))
	for _, name := range e.sc.Measure {
		m, err := measure.Lookup(name)
		if err != nil {
			return out, err
		}
		r, err := m.Measure(ctx, t)
		if err != nil {
			return out, fmt.Errorf("measure %s: %w", name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// measurementChecks checks expect.measurements, one check per measurement.
// Every figure must have been taken: one that could not be (a service that
// checks no nbf has no leeway to find) fails, and so does a revocation or
// a key change the service never honoured within the search's bound. With
// "agree", no figure may differ from what the config declares.
func measurementChecks(sc scenarios.Scenario, results []measure.Result) []Check {
	if sc.Expect.Measurements == "" {
		return nil
	}
	var out []Check
	for _, name := range sc.Measure {
		c := Check{Name: MeasurementsCheck + " " + name, Want: sc.Expect.Measurements, Got: "not taken"}
		for _, r := range results {
			if r.Name == name {
				c.Got, c.Pass = judgeMeasurement(r, sc.Expect.Measurements == "agree")
			}
		}
		out = append(out, c)
	}
	return out
}

// judgeMeasurement words what r found and whether it holds: each figure
// taken, none past its bound where the bound means "never happened", and,
// when agree is set, none different from the declaration.
func judgeMeasurement(r measure.Result, agree bool) (string, bool) {
	if r.Probes == 0 || len(r.Figures) == 0 {
		return fmt.Sprintf("%s: %s", r.Verdict, orNone(r.Why)), false
	}
	for _, f := range r.Figures {
		switch {
		case f.Verdict == measure.CannotMeasure:
			return fmt.Sprintf("%s: cannot measure: %s", f.Name, f.Why), false
		case f.AboveBound && neverHappened(f.Name):
			return fmt.Sprintf("%s: %s", f.Name, f.Comparison), false
		case agree && f.Verdict == measure.Differs:
			return fmt.Sprintf("%s: %s", f.Name, f.Comparison), false
		}
	}
	return string(r.Verdict), true
}

// neverHappened reports whether a figure past its bound means the service
// never did the thing measured (honour a revocation, a new key, a removed
// key), rather than a very large value (a leeway, a lifetime).
func neverHappened(figure string) bool {
	return strings.HasPrefix(figure, "revocation") || strings.HasPrefix(figure, "key-")
}

// orNone is s, or "no reason given".
func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// measurementLines says what the measurements found, one line per figure.
func measurementLines(results []measure.Result) []string {
	var out []string
	for _, r := range results {
		if len(r.Figures) == 0 {
			out = append(out, fmt.Sprintf("%s: %s (%s)", r.Name, r.Verdict, r.Why))
			continue
		}
		for _, f := range r.Figures {
			out = append(out, fmt.Sprintf("%s: %s", f.Name, f.Comparison))
		}
	}
	return out
}
