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
