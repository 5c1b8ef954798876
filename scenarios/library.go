package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

//go:embed library/*.yaml
var library embed.FS

// libraryDir is where the embedded files live in the repository, so errors
// in them name a path a user can open.
const libraryDir = "scenarios/library"

// Library returns every scenario of the embedded library, sorted by name,
// checking the schema but not fault parameters; use LoadLibrary with the
// fakes' validator to check those too. Each call returns fresh copies the
// caller may change.
func Library() ([]*Scenario, error) { return LoadLibrary(LoadOptions{}) }

// LoadLibrary is Library with opts (the harness passes its fault validator).
func LoadLibrary(opts LoadOptions) ([]*Scenario, error) {
	opts.library = true
	files, err := fs.Glob(library, "library/*.yaml")
	if err != nil {
		return nil, err
	}
	out := make([]*Scenario, 0, len(files))
	for _, f := range files {
		data, err := library.ReadFile(f)
		if err != nil {
			return nil, err
		}
		s, err := Parse(path.Join(libraryDir, path.Base(f)), data, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	// By name, not by file: "key-rotation-fresh-grants.yaml" sorts before "key-rotation.yaml".
	slices.SortFunc(out, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Find returns the library scenario named name.
func Find(name string) (*Scenario, error) {
	all, err := Library()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(all))
	for i, s := range all {
		if s.Name == name {
			return s, nil
		}
		names[i] = s.Name
	}
	return nil, fmt.Errorf("no library scenario named %q%s; `jitbench list` shows them", name, yamlfile.DidYouMean(name, names))
}
