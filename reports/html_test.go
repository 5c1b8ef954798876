package reports_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jitbench/jitbench/reports"
)

var urlRef = regexp.MustCompile(`https?://[^\s"'<>)]*`)

// assertSelfContained checks that a page fetches nothing: no script, link,
// import or source, and no URL but the SVG namespace.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, u := range urlRef.FindAllString(page, -1) {
		assert.Equal(t, "http://www.w3.org/2000/svg", u, "the page references %s", u)
	}
	for _, bad := range []string{"<script", "<link", "@import", "url(", " src=", "href="} {
		assert.NotContains(t, page, bad)
	}
}

func TestHTMLStructure(t *testing.T) {
	page := string(render(t, fixture(t), "html"))
	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>\n"))
	assert.Equal(t, 3, strings.Count(page, "<svg"), "three inline plots")
	assert.Equal(t, 3, strings.Count(page, "</svg>"))
	assertSelfContained(t, page)
	assert.NotContains(t, page, "<?xml", "an XML prolog does not belong inside HTML")
	for _, want := range []string{
		"<title>jitbench: read-under-freeze</title>",
		"Content-Security-Policy",
		"Latency percentiles over time", "Calls per second by code", "Latency distribution",
		"<title>Latency percentiles over time</title>", // the SVG's own title, for screen readers
		"Expectations: 1 of 3 passed",
		`<td class="fail">FAIL</td>`,
		"GRANT_EXPIRED",
		"no call completed in t=4s..5s",
	} {
		assert.Contains(t, page, want)
	}
}

// Names from the result are escaped, so a hostile name cannot add markup.
func TestHTMLEscapes(t *testing.T) {
	res := fixture(t)
	res.Run.Name = `<script>alert(1)</script>`
	page := string(render(t, res, "html"))
	assert.NotContains(t, page, "<script>")
	assert.Contains(t, page, "&lt;script&gt;")
}

func TestHTMLWithoutData(t *testing.T) {
	empty := reports.NewRecorder(reports.Run{Method: "/m"}).Finish()
	page := string(render(t, empty, "html"))
	assert.Equal(t, 3, strings.Count(page, "<svg"))
	assert.Contains(t, page, "no calls completed")
	assertSelfContained(t, page)
}
