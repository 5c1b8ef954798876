package conformance

import (
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// fileReader reads a config's YAML node tree value by value, so that every
// refusal names the node at fault. The readers it has in common with the
// scenario loader (mappings, text, lists, durations, booleans) are
// yamlfile's; the ones below are the config's own.
type fileReader struct {
	yamlfile.Reader
	dir string // relative paths in the file are relative to it
}

// section reads an optional mapping as Fields does; nil when it is absent.
func (r *fileReader) section(n *yaml.Node, where string, allowed []string) (map[string]*yaml.Node, error) {
	if yamlfile.IsNull(n) {
		return nil, nil
	}
	return r.Fields(n, where, allowed)
}

// required reads a scalar that must be present and not empty.
func (r *fileReader) required(n *yaml.Node, what string) (string, error) {
	s, err := r.Str(n, what)
	if err == nil && strings.TrimSpace(s) == "" {
		return "", r.At(n, "%s must not be empty", what)
	}
	return s, err
}

// maxFileBytes bounds the files a config names: keys, requests, certificates.
const maxFileBytes = 16 << 20

// path reads an optional file name, made relative to the config's
// directory. The file must be a regular file of sensible size: a device
// such as /dev/zero would never end.
func (r *fileReader) path(n *yaml.Node, what string) (string, error) {
	s, err := r.Str(n, what)
	if err != nil || s == "" {
		return s, err
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(r.dir, s)
	}
	fi, err := os.Stat(s)
	switch {
	case err != nil:
		return "", r.At(n, "%s: %v", what, err)
	case !fi.Mode().IsRegular():
		return "", r.At(n, "%s: %s is not a regular file", what, s)
	case fi.Size() > maxFileBytes:
		return "", r.At(n, "%s: %s is larger than %d MiB", what, s, maxFileBytes>>20)
	}
	return s, nil
}
