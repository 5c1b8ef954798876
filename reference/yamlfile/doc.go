// Package yamlfile is strict reading of small YAML files with positioned
// errors: the scenario, policy and conformance-config loaders read their
// files node by node through a Reader, so that every refusal is an *Error
// naming FILE:LINE:COL of the node at fault, in the words of the file
// rather than of Go types.
package yamlfile
