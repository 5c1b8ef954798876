package proxy_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// TestMethodPatterns scopes faults by pattern: * is any run of characters.
func TestMethodPatterns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, method string
		want            bool
	}{
		{"/pkg.S/*", "/pkg.S/Read", true},
		{"/pkg.S/*", "/pkg.T/Read", false},
		{"/pkg.*", "/pkg.S/Read", true},
		{"*", "/anything/at/all", true},
		{"/pkg.S/Read", "/pkg.S/Read", true},
		{"/pkg.S/Read", "/pkg.S/ReadAll", false},
		{"/pkg.S/Re*d", "/pkg.S/Read", true},
		{"/pkg.S/*Stream", "/pkg.S/ServerStream", true},
		{"/*/*/jwks.json", "/a/b/jwks.json", true},
		{"/*/*/jwks.json", "/a/jwks.json", false},
		{"/" + strings.Repeat("*a", 30), "/" + strings.Repeat("a", 5000) + "b", false}, // no exponential backtracking
	}
	for _, tt := range tests {
		f := proxy.NewFaults(proxy.GRPC)
		_, err := f.Add(proxy.Spec{Kind: "reset", Methods: []string{tt.pattern}})
		if !assert.NoError(t, err) {
			continue
		}
		assert.Equal(t, tt.want, proxy.MatchesForTest(f, tt.method), "%s on %s", tt.pattern, tt.method)
	}
}

func TestContentSubtype(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]string{
		"application/grpc":                    "",
		"application/grpc+proto":              "proto",
		"application/grpc+json":               "json",
		"application/grpc+json; charset=utf8": "json",
		"Application/GRPC+JSON":               "json",
		"text/plain":                          "",
	} {
		assert.Equal(t, want, proxy.ContentSubtypeForTest(metadata.Pairs("content-type", ct)), ct)
	}
	assert.Empty(t, proxy.ContentSubtypeForTest(metadata.MD{}))
}
