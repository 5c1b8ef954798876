package conformance

import (
	_ "embed" // the example config ships in the binary
	"slices"
)

//go:embed example-target.yaml
var exampleConfig []byte

// ExampleConfigName is the example's file name, for messages.
const ExampleConfigName = "example-target.yaml"

// ExampleConfig returns a commented target config, valid against
// `jitbench serve` with its defaults, that documents every key.
func ExampleConfig() []byte { return slices.Clone(exampleConfig) }
