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

// measurementChecks checks expect.measurements: with "agree" every figure
// agrees with what the config declares (or it declares nothing), with
// "measured" every measurement took its figures; and a measurement whose
// figures could not be taken, or that made no probe, never passes.
func measurementChecks(sc scenarios.Scenario, results []measure.Result) []Check {
	if sc.Expect.Measurements == "" {
		return nil
	}
	var out []Check
	for _, name := range sc.Measure {
		c := Check{Name: MeasurementsCheck + " " + name, Want: sc.Expect.Measurements, Got: "not taken"}
		for _, r := range results {
			if r.Name != name {
				continue
			}
			c.Got = string(r.Verdict)
			if r.Why != "" {
				c.Got += ": " + r.Why
			}
			taken := r.Verdict != measure.CannotMeasure && r.Probes > 0
			switch sc.Expect.Measurements {
			case "agree":
				c.Pass = taken && r.Verdict != measure.Differs
			default:
				c.Pass = taken
			}
		}
		out = append(out, c)
	}
	return out
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
