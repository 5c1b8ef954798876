package fakes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jitbench/jitbench/reference/token"
)

// KindVerifierAlgorithms names the fault where the service pins the wrong algorithms.
const KindVerifierAlgorithms = "verifier-algorithms"

type verifierAlgorithmsParams struct {
	Algorithms []string `param:"algorithms,required" doc:"the only algorithms the service's verifiers accept, e.g. [ES256]"`
}

func init() {
	register(KindVerifierAlgorithms, "builds the service's verifiers with this pinned algorithm list (static: from the start)",
		verifierAlgorithmsParams{}, newVerifierAlgorithms)
	onExternal(KindVerifierAlgorithms, "refused: it changes how the service is built")
}

func newVerifierAlgorithms(params map[string]any) (Fault, error) {
	var p verifierAlgorithmsParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if len(p.Algorithms) == 0 {
		return nil, &ParamError{Key: "algorithms", Msg: "name at least one algorithm"}
	}
	for i, a := range p.Algorithms {
		if err := token.CheckAlgorithm(a); err != nil {
			return nil, &ParamError{Key: "algorithms", Msg: fmt.Sprintf("item %d: %v", i, err)}
		}
	}
	algs := slices.Clone(p.Algorithms)
	return StaticFunc(func(env Env) (func(), error) {
		l := env.Service().Add(func(s *ServiceSettings) { s.Algorithms = slices.Clone(algs) })
		layerEffect(env, "build", func(met string) string {
			return "built the service accepting only " + strings.Join(algs, ", ") + " (" + met + ")"
		}, l)
		return l.Remove, nil
	}), nil
}
