package conformance_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jitbench/jitbench/harness/conformance"
)

// FuzzParseConfig feeds the config loader arbitrary files: it never panics,
// and every refusal is a one-line *ConfigError.
func FuzzParseConfig(f *testing.F) {
	f.Add(conformance.ExampleConfig())
	f.Add([]byte("address: a:1\nmethod: /a.B/C\npayload: '{}'\nkeys: {dev: true}\naudience: a\n"))
	f.Add([]byte("address: [1, 2]\ntls: {ca: [x]}\nbroker: {approver_groups: {a: b}}\n"))
	f.Add([]byte("keys: {grant: {issuer: x, file: /dev/null}}\n---\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := conformance.ParseConfig("fuzz.yaml", data)
		if err == nil {
			return
		}
		var ce *conformance.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("not a *ConfigError: %T %v", err, err)
		}
		if ce.Line < 1 || ce.Column < 1 || strings.Contains(ce.Msg, "\n") {
			t.Fatalf("bad position or a message of several lines: %q", err)
		}
	})
}

// FuzzInferSample feeds sample-token inference arbitrary text (what a user
// pastes is untrusted): it never panics, a refusal is one line wrapping
// ErrBadSample, and an accepted sample always yields a valid claim template.
func FuzzInferSample(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJFUzI1NiJ9.eyJzY29wZSI6eyJtZXRob2RzIjpbIi9hLkIvQyJdfX0.c2ln",
		"Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6ImsifQ.eyJzY3AiOiJhIGIiLCJhdWQiOlsieCJdLCJleHAiOjF9.c2ln",
		"eyJhbGciOiJSUzI1NiJ9.eyJyb2xlcyI6WzEsMl0sInJlcyI6InIvIn0.c2ln",
		"a.b.c.d.e", "", "...", "Bearer ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := conformance.InferSample(in)
		if err != nil {
			if !errors.Is(err, conformance.ErrBadSample) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("not a one-line ErrBadSample: %q", err)
			}
			return
		}
		for _, methods := range []bool{true, false} {
			if _, err := s.Template(methods); err != nil {
				t.Fatalf("accepted, and its template is refused: %v", err)
			}
		}
	})
}
