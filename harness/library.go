package harness

import (
	"errors"
	"regexp"
	"slices"
	"strconv"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/scenarios"
)

// LoadOptions are the scenario loader's options with the fakes registry as
// fault validator and the load generator's rate parser, so a bad fault kind
// or parameter, or a bad load.rate, is refused at its file:line:col when
// the file loads, not when the run starts.
func LoadOptions() scenarios.LoadOptions {
	return scenarios.LoadOptions{ValidateFault: validateFault, ParseRate: parseRate, Holds: fakes.Holds,
		Measurements: Measurements(), Diagnoses: Diagnoses()}
}

// validateFault builds the fault to check it, and names the offending
// parameter in the form the loader understands, so it points at that key.
func validateFault(kind string, params map[string]any) error {
	_, err := fakes.New(kind, fractions(params))
	var pe *fakes.ParamError
	if errors.As(err, &pe) && pe.Key != "" {
		return paramError{err: err, key: pe.Key}
	}
	return err
}

// paramError is a fakes.ParamError as a scenarios.ParamError.
type paramError struct {
	err error
	key string
}

func (e paramError) Error() string { return e.err.Error() }
func (e paramError) Unwrap() error { return e.err }
func (e paramError) Param() string { return e.key }

var _ scenarios.ParamError = paramError{}

// Library returns the embedded scenario library, faults validated.
func Library() ([]*scenarios.Scenario, error) { return scenarios.LoadLibrary(LoadOptions()) }

// LoadFile reads the scenario file at path, faults validated.
func LoadFile(path string) (*scenarios.Scenario, error) { return scenarios.Load(path, LoadOptions()) }

// TagExternal tags the library scenarios written for a user's own service:
// they run on topology external and need nothing but a target config.
const TagExternal = "external"

// LibraryFor is the part of the library a whole run takes: the external
// library against a user's service, the reference's library without one
// (against a user's service the reference's scenarios would expect the
// reference's reasons).
func LibraryFor(lib []*scenarios.Scenario, external bool) []*scenarios.Scenario {
	var out []*scenarios.Scenario
	for _, s := range lib {
		if (s.Topology == TopologyExternal) == external {
			out = append(out, s)
		}
	}
	return out
}

// Tagged returns the scenarios of all carrying tag.
func Tagged(all []*scenarios.Scenario, tag string) []*scenarios.Scenario {
	var out []*scenarios.Scenario
	for _, s := range all {
		if slices.Contains(s.Tags, tag) {
			out = append(out, s)
		}
	}
	return out
}

// percentParam is a share written as scenario files write shares: "50%", "12.5 %".
var percentParam = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$`)

// fractions returns params with every percentage turned into the fraction
// the fault kinds decode ("50%" → 0.5): scenario files write shares as
// percentages everywhere, fault parameters included.
func fractions(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if s, ok := v.(string); ok {
			if m := percentParam.FindStringSubmatch(s); m != nil {
				if f, err := strconv.ParseFloat(m[1], 64); err == nil {
					v = f / 100
				}
			}
		}
		out[k] = v
	}
	return out
}
