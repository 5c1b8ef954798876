package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics Parse, that every refusal is a
// positioned *Error, and that what is accepted has its defaults filled.
func FuzzParse(f *testing.F) {
	lib, _ := filepath.Glob("library/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, path := range append(lib, bad...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(fullScenario))
	f.Add([]byte("a: &a [*a, *a]\nname: *a\n"))
	f.Add([]byte("name: x\nsummary: s\nexpect: {codes: {OK: 100%}}\nexplain: \"{{define \\\"t\\\"}}{{template \\\"t\\\"}}{{end}}{{template \\\"t\\\" .}}\"\n"))
	f.Add([]byte("name: x\nsummary: s\nexpect: {codes: {OK: 100%}}\nexplain: \"{{range 200000000}}{{printf \\\"%0999999d\\\" 1}}{{end}}\"\n"))
	f.Add([]byte("name: x\nsummary: s\nexpect: {codes: {OK: 100%}}\nexplain: \"{{range .Codes}}{{printf \\\"%0999999d\\\" 1}}{{end}}\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data, LoadOptions{ValidateFault: stubValidator})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Column < 1 || e.File != "fuzz.yaml" {
				t.Fatalf("refusal without a position: %v", err)
			}
			return
		}
		// The load is bounded by its calls or its duration, and paced by callers or a rate.
		bounded := s.Load.Calls >= 1 || s.Load.Duration > 0 || len(s.Measure) > 0
		paced := s.Load.Concurrency >= 1 || s.Load.Rate != ""
		if s.Name == "" || s.Topology == "" || !bounded || !paced || s.Client.Deadline <= 0 {
			t.Fatalf("accepted without defaults: %+v", s)
		}
		for _, sh := range s.Expect.CodeShares {
			if sh.Fraction < 0 || sh.Fraction > 1 {
				t.Fatalf("share out of range: %+v", sh)
			}
		}
		// An accepted explanation renders within its bounds, or says which it broke.
		out, err := s.RenderExplain(Figures{Calls: 3, Codes: map[string]int{"OK": 2, "PERMISSION_DENIED": 1},
			Reasons: map[string]int{"GRANT_EXPIRED": 1}, MetaCounts: map[string]map[string]int{"kid": {"k": 1}}})
		if len(out) > MaxExplainBytes {
			t.Fatalf("explanation of %d bytes rendered", len(out))
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("explanation error on several lines: %q", err)
		}
	})
}
