package main

import (
	"context"
	"errors"

	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/harness/conformance"
)

// targetHelp documents --target for run and repro.
const targetHelp = "run against your own service, described by this target config (the one 'jitbench conformance --config' reads) instead of the reference system"

// loadTargetConfig reads a target config named by flag: a file that does
// not parse is a usage error naming its file:line:col.
func loadTargetConfig(flag, path string) (*conformance.Config, error) {
	cfg, err := conformance.LoadConfig(path)
	if err != nil {
		var ce *conformance.ConfigError
		if errors.As(err, &ce) {
			return nil, usageErr(err) // file:line:col: what is wrong
		}
		return nil, usagef("%s: %v", flag, err)
	}
	return cfg, nil
}

// targetOptions reads --target and checks, before any scenario runs, that
// the service answers a valid call with OK: against a service that refuses
// even that, every scenario would only repeat the refusal. A target given
// with a --topology other than external is a usage error.
func targetOptions(ctx context.Context, path, topology string) ([]harness.Option, error) {
	if path == "" {
		return nil, nil
	}
	if topology != "" && topology != harness.TopologyExternal {
		return nil, usagef("--target runs on your service (topology %s): leave --topology out", harness.TopologyExternal)
	}
	cfg, err := loadTargetConfig("--target", path)
	if err != nil {
		return nil, err
	}
	if err := conformance.CheckControl(ctx, cfg); err != nil {
		return nil, usagef("--target %s: %v", path, err)
	}
	return []harness.Option{harness.WithTarget(cfg)}, nil
}
