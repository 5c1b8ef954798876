package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input panics Parse, and that every refusal is a
// positioned *Error.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, path := range append(seeds, bad...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a, *a]\nrules: *a\n"))
	f.Add([]byte("rules:\n  - <<: [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || perr.Line < 1 || perr.Column < 1 {
				t.Fatalf("refusal without a position: %v", err)
			}
			return
		}
		for i := range p.Rules {
			r := &p.Rules[i]
			if r.Name == "" || r.Approvals < 1 || r.MaxDuration <= 0 || r.PendingTimeout <= 0 || len(r.Match.Methods) == 0 {
				t.Fatalf("accepted an invalid rule: %+v", r)
			}
			_, _ = p.Match(r.Match.Service, r.Match.Methods, r.Match.Resource)
		}
	})
}
