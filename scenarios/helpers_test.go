package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// faultKinds are the kinds package fakes registers, as the brief for this
// package lists them; the tests' validator knows them so that a typo in a
// library file fails here, before the harness runs it.
var faultKinds = []string{
	"clock-skew", "token-mutation", "approval", "broker-down", "network", "credentials-missing",
	"tokens-not-propagated", "stream-interceptor-missing", "verifier-algorithms", "verifier-wrong-key",
	"short-deadline", "retry-without-deadline-extension", "revoke", "key-rotation", "broker-restart",
	"container-pause", "container-kill", "network-partition", "grpc-fault", "key-source",
}

// paramError is a ParamError for the tests' validator.
type paramError struct{ param, msg string }

func (e paramError) Error() string { return e.msg }
func (e paramError) Param() string { return e.param }

// stubValidator stands in for the fakes registry: it knows the kinds, and
// checks one parameter (clock-skew's target) to exercise ParamError.
func stubValidator(kind string, params map[string]any) error {
	if !slices.Contains(faultKinds, kind) {
		return fmt.Errorf("unknown fault kind %q; kinds: %s", kind, strings.Join(faultKinds, ", "))
	}
	if kind == "clock-skew" {
		if t, _ := params["target"].(string); !slices.Contains([]string{"client", "service", "broker"}, t) {
			return paramError{"target", fmt.Sprintf("clock-skew: unknown target %q: want client, service or broker", t)}
		}
	}
	return nil
}
