package conformance

import (
	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// fileReader reads a config's YAML node tree into the schema (File), so
// that every refusal names the node at fault. The readers it has in common
// with the scenario loader (mappings, text, lists, durations, booleans)
// are yamlfile's; the schema walk and the checks after it are the config's own.
type fileReader struct {
	yamlfile.Reader
	dir   string // relative paths in the file are relative to it
	root  *yaml.Node
	nodes map[string]*yaml.Node // each value node by its dotted key: "keys.grant.file"
}
