package reports_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumConsole matches the lines Chromium logs for console messages,
// CSP violations and failed loads included, with --enable-logging=stderr.
var chromiumConsole = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// findChromium returns Debian's chromium (or Ubuntu's chromium-browser), or skips.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("chromium is not on PATH: the headless-browser check of the HTML report needs Debian's chromium package (apt-get install chromium)")
	return ""
}

// runChromium runs headless Chromium on url with extra flags and returns
// its standard output and the console lines it logged.
func runChromium(t *testing.T, bin, dir string, extra ...string) (stdout []byte, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0",
	}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "chromium %s failed:\n%s", strings.Join(args, " "), errOut.String())
	return out.Bytes(), chromiumConsole.FindAllString(errOut.String(), -1)
}

// TestHTMLInChromium opens the HTML report in a real browser: the page must
// load with no console message (a blocked fetch would log one), keep its
// three plots in the DOM, and draw a screenshot that is not blank. Set
// JITBENCH_ARTIFACT_DIR to keep the screenshot.
func TestHTMLInChromium(t *testing.T) {
	bin := findChromium(t)
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	require.NoError(t, os.WriteFile(page, render(t, fixture(t), "html"), 0o644))
	url := "file://" + page

	shot := filepath.Join(dir, "report.png")
	_, console := runChromium(t, bin, dir, "--screenshot="+shot, "--window-size=1200,2000", "--hide-scrollbars", url)
	assert.Empty(t, console, "the page logged to the console")
	info, err := os.Stat(shot)
	require.NoError(t, err, "no screenshot")
	require.Positive(t, info.Size(), "empty screenshot")
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 1200, img.Bounds().Dx())
	assert.Equal(t, 2000, img.Bounds().Dy())
	dark := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 4 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 4 {
			if r, g, b, _ := img.At(x, y).RGBA(); r+g+b < 3*0x8000 {
				dark++
			}
		}
	}
	assert.Greater(t, dark, 1000, "the screenshot is nearly blank")
	if keep := os.Getenv("JITBENCH_ARTIFACT_DIR"); keep != "" {
		require.NoError(t, os.MkdirAll(keep, 0o755))
		data, err := os.ReadFile(shot)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(keep, "report.png"), data, 0o644))
		t.Logf("screenshot kept in %s", filepath.Join(keep, "report.png"))
	}

	dom, console := runChromium(t, bin, dir, "--dump-dom", url)
	assert.Empty(t, console, "the page logged to the console")
	assert.Equal(t, 3, strings.Count(string(dom), "<svg"), "the three plots survive parsing")
	assert.Greater(t, strings.Count(string(dom), "<path"), 30, "the plots have lines")
	for _, title := range []string{"Latency percentiles over time", "Calls per second by code", "Latency distribution"} {
		assert.Contains(t, string(dom), "<title>"+title+"</title>")
	}
}
