package conformance

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrSelection is wrapped by the error for a --run or --skip pattern that is malformed or matches no case.
var ErrSelection = errors.New("bad case selection")

// Select returns the catalog's cases whose id matches one of run (every
// case when run is empty) and none of skip, in catalog order. Patterns are
// globs on ids (path.Match: "ALG-*", "CLM-00[1-3]"); a malformed pattern,
// or one that matches no id at all, is an error wrapping ErrSelection.
func Select(run, skip []string) ([]Case, error) {
	all := Catalog()
	for _, flag := range []struct {
		name     string
		patterns []string
	}{{"run", run}, {"skip", skip}} {
		for _, p := range flag.patterns {
			n, err := matches(p, all)
			if err != nil {
				return nil, fmt.Errorf("%w: --%s %q: %w", ErrSelection, flag.name, p, err)
			}
			if n == 0 {
				return nil, fmt.Errorf("%w: --%s %q matches no case id (ids look like ALG-001; globs such as 'ALG-*' select several)",
					ErrSelection, flag.name, p)
			}
		}
	}
	var out []Case
	for _, c := range all {
		if (len(run) == 0 || anyMatch(run, c.ID)) && !anyMatch(skip, c.ID) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --skip leaves no case to run", ErrSelection)
	}
	return out, nil
}

// matches counts the cases p matches; a malformed p is an error.
func matches(p string, cases []Case) (int, error) {
	if _, err := path.Match(p, ""); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cases {
		if anyMatch([]string{p}, c.ID) {
			n++
		}
	}
	return n, nil
}

// anyMatch reports whether id matches one of patterns, ignoring case.
func anyMatch(patterns []string, id string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToUpper(p), id); ok {
			return true
		}
	}
	return false
}
