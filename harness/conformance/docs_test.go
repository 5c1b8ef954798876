package conformance_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/conformance"
)

// TestDocsAreGenerated checks that docs/conformance.md is what the code
// writes, so the document and the catalog, rules, capabilities and config
// schema cannot drift apart, and that it names each of them.
func TestDocsAreGenerated(t *testing.T) {
	var want bytes.Buffer
	require.NoError(t, conformance.WriteDocs(&want))
	got, err := os.ReadFile(filepath.Join("..", "..", conformance.DocsPath))
	require.NoError(t, err)
	require.Equal(t, want.String(), string(got),
		"%s is out of date: run go generate ./harness/conformance", conformance.DocsPath)

	doc := want.String()
	for _, c := range conformance.Catalog() {
		assert.Contains(t, doc, "| "+c.ID+" | ", "the case %s", c.ID)
	}
	for _, r := range conformance.Rules() {
		assert.Contains(t, doc, "| `"+r+"` |", "the rule %s", r)
	}
	for _, n := range conformance.Needs() {
		assert.Contains(t, doc, "| "+string(n.Need)+" | ", "the capability %s", n.Need)
	}
	for _, k := range conformance.ConfigKeys() {
		assert.Contains(t, doc, "| `"+k+"` |", "the config key %s", k)
	}
	assert.NotContains(t, doc, "../shared", "the project's docs stand alone")
	assert.NotContains(t, doc, "<no value>")
	assert.False(t, strings.Contains(doc, "{{"), "every template action ran")
}
