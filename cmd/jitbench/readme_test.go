package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/scenarios"
)

// The README and the docs are tested like code: a renamed flag, a moved
// page or a new reason must fail here, not in a user's terminal.

// readmeRepoRoot is the repository root, seen from this package's directory.
const readmeRepoRoot = "../.."

// readmeMaxLines bounds the README: it introduces and links, the docs explain.
const readmeMaxLines = 260

// readmePages returns the README and every page under docs/, relative to
// the repository root: every shell example in them must parse.
func readmePages(t readmeT) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(readmeRepoRoot, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	pages := []string{"README.md"}
	for _, d := range docs {
		pages = append(pages, filepath.ToSlash(filepath.Join("docs", filepath.Base(d))))
	}
	return pages
}

// readmePage is one Markdown file: its lines, and its fenced blocks by language.
type readmePage struct {
	path   string // relative to the repository root
	text   string
	prose  []string // lines outside fenced blocks
	blocks []readmeBlock
}

// readmeBlock is one fenced code block.
type readmeBlock struct {
	lang  string
	lines []string
}

func readmeLoad(t readmeT, rel string) readmePage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(readmeRepoRoot, rel))
	require.NoError(t, err)
	p := readmePage{path: rel, text: string(data)}
	var cur *readmeBlock
	for _, line := range strings.Split(p.text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if cur == nil {
				cur = &readmeBlock{lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))}
				continue
			}
			p.blocks = append(p.blocks, *cur)
			cur = nil
			continue
		}
		if cur != nil {
			cur.lines = append(cur.lines, line)
			continue
		}
		p.prose = append(p.prose, line)
	}
	require.Nil(t, cur, "%s: a fenced code block is not closed", rel)
	return p
}

var (
	readmeLinkRE       = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	readmeCodeSpanRE   = regexp.MustCompile("`[^`]*`")
	readmeHeadingRE    = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	readmeInlineLinkRE = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// links returns the link targets of the page's prose (code is not linked).
func (p readmePage) links() []string {
	var out []string
	for _, line := range p.prose {
		line = readmeCodeSpanRE.ReplaceAllString(line, "")
		for _, m := range readmeLinkRE.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// anchors returns the heading anchors GitHub makes for the page.
func (p readmePage) anchors() map[string]bool {
	out := map[string]bool{}
	for _, line := range p.prose {
		m := readmeHeadingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := readmeSlug(m[2])
		anchor := slug
		for n := 1; out[anchor]; n++ {
			anchor = slug + "-" + string(rune('0'+n))
		}
		out[anchor] = true
	}
	return out
}

// readmeSlug is GitHub's heading anchor: lower case, punctuation dropped
// (hyphens and underscores kept), each space a hyphen.
func readmeSlug(heading string) string {
	heading = readmeInlineLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readmeCheckLinks fails t for every relative link of p that leaves the
// repository, names no existing file or directory, or names a heading the
// target page does not have.
func readmeCheckLinks(t readmeT, p readmePage) {
	t.Helper()
	root, err := filepath.Abs(readmeRepoRoot)
	require.NoError(t, err)
	for _, link := range p.links() {
		if strings.HasPrefix(link, "http://") || strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "mailto:") {
			continue
		}
		target, anchor, _ := strings.Cut(link, "#")
		file := filepath.Join(root, filepath.Dir(p.path), target)
		if target == "" {
			file = filepath.Join(root, p.path)
		}
		if !assert.True(t, file == root || strings.HasPrefix(file, root+string(filepath.Separator)),
			"%s: link %q leaves the repository", p.path, link) {
			continue
		}
		st, err := os.Stat(file)
		if !assert.NoError(t, err, "%s: link %q names nothing that exists", p.path, link) {
			continue
		}
		if anchor == "" || st.IsDir() || !strings.HasSuffix(file, ".md") {
			continue
		}
		rel, err := filepath.Rel(root, file)
		require.NoError(t, err)
		assert.True(t, readmeLoad(t, rel).anchors()[anchor],
			"%s: link %q names a heading %s does not have", p.path, link, rel)
	}
}

func TestReadmeIsShortAndLinksStayInTheRepo(t *testing.T) {
	p := readmeLoad(t, "README.md")
	lines := strings.Count(strings.TrimRight(p.text, "\n"), "\n") + 1
	assert.LessOrEqual(t, lines, readmeMaxLines, "the README has %d lines: move detail into docs/", lines)
	links := p.links()
	require.NotEmpty(t, links)
	assert.NotContains(t, p.text, "../", "the README points outside the repository")
	readmeCheckLinks(t, p)
	// Every page under docs/ is reachable from the README.
	pages, err := filepath.Glob(filepath.Join(readmeRepoRoot, "docs", "*.md"))
	require.NoError(t, err)
	for _, page := range pages {
		assert.Contains(t, links, "docs/"+filepath.Base(page), "the README does not link %s", page)
	}
}

func TestDocsLinksResolve(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(readmeRepoRoot, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, pages)
	for _, page := range pages {
		rel, err := filepath.Rel(readmeRepoRoot, page)
		require.NoError(t, err)
		t.Run(filepath.Base(page), func(t *testing.T) {
			p := readmeLoad(t, rel)
			assert.NotContains(t, p.text, "../shared", "%s links outside the repository", rel)
			readmeCheckLinks(t, p)
		})
	}
}

func TestReadmeLinkCheckerCatchesBadLinks(t *testing.T) {
	page := readmePage{path: "x.md", prose: []string{
		"[ok](README.md) [gone](docs/nope.md) [out](../shared/CONFORMANCE.md) [anchor](README.md#no-such-heading)",
		"`[in code](docs/ignored.md)`",
	}}
	assert.Equal(t, []string{"README.md", "docs/nope.md", "../shared/CONFORMANCE.md", "README.md#no-such-heading"}, page.links())
	failed := readmeCountFailures(func(rt readmeT) { readmeCheckLinks(rt, page) })
	assert.Equal(t, 3, failed, "gone, out and the missing anchor each fail; ok passes")
}

// readmeT is what the page checks need of a test, so that the checks can
// also run against a recorder that proves they fail on bad input.
type readmeT interface {
	Helper()
	Errorf(format string, args ...any)
	FailNow()
}

// readmeRecorder counts failed assertions instead of failing a test.
type readmeRecorder struct{ n int }

// readmeStop is what a recorder's FailNow panics with.
type readmeStop struct{}

func (r *readmeRecorder) Helper()               {}
func (r *readmeRecorder) Errorf(string, ...any) { r.n++ }
func (r *readmeRecorder) FailNow()              { panic(readmeStop{}) }

// readmeCountFailures runs check against a recorder and returns how many
// assertions failed (a require stops the check there).
func readmeCountFailures(check func(readmeT)) int {
	r := &readmeRecorder{}
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(readmeStop); !ok {
					panic(v)
				}
			}
		}()
		check(r)
	}()
	return r.n
}

func TestReadmeSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"One part per process: `serve --role`":               "one-part-per-process-serve---role",
		"Reproduce a PERMISSION_DENIED or DEADLINE_EXCEEDED": "reproduce-a-permission_denied-or-deadline_exceeded",
		"The JIT model and the reasons for a refusal":        "the-jit-model-and-the-reasons-for-a-refusal",
		"Requesting and reviewing access: `jitbench access`": "requesting-and-reviewing-access-jitbench-access",
		"Scenarios and conformance in `go test`":             "scenarios-and-conformance-in-go-test",
	} {
		assert.Equal(t, want, readmeSlug(heading), heading)
	}
}

// readmeCommand is one jitbench command line of a page's shell example.
type readmeCommand struct {
	page, line string
	args       []string // after "jitbench"
}

// readmeCommands returns every jitbench command of the page's shell blocks,
// including those inside $( ).
func readmeCommands(p readmePage) []readmeCommand {
	var out []readmeCommand
	for _, b := range p.blocks {
		if b.lang != "sh" && b.lang != "bash" && b.lang != "shell" {
			continue
		}
		for _, line := range readmeJoinContinuations(b.lines) {
			subs, rest := readmeExtractSubstitutions(line)
			for _, l := range append(subs, rest) {
				for _, args := range readmeJitbenchArgs(readmeShellWords(l)) {
					out = append(out, readmeCommand{page: p.path, line: strings.TrimSpace(line), args: args})
				}
			}
		}
	}
	return out
}

// readmeJoinContinuations joins lines that end with a backslash.
func readmeJoinContinuations(lines []string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range lines {
		if strings.HasSuffix(strings.TrimRight(l, " "), `\`) {
			cur.WriteString(strings.TrimSuffix(strings.TrimRight(l, " "), `\`))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(l)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// readmeExtractSubstitutions takes each $( ... ) out of line, returning the
// inner command lines and line with each replaced by the word SUBST.
func readmeExtractSubstitutions(line string) (inner []string, rest string) {
	for {
		start := strings.Index(line, "$(")
		if start < 0 {
			return inner, line
		}
		depth, end := 0, -1
		for i := start + 1; i < len(line) && end < 0; i++ {
			switch line[i] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			return inner, line
		}
		inner = append(inner, line[start+2:end])
		line = line[:start] + "SUBST" + line[end+1:]
	}
}

// readmeShellWords splits a shell line into words and operator tokens
// (| & ; < > and their doubles), honouring quotes and backslashes and
// dropping a trailing # comment. Operators come back as words starting
// with a NUL byte, so they cannot be confused with an argument.
func readmeShellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			inWord = true
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				cur.WriteByte(line[i])
			}
		case c == '\\' && i+1 < len(line):
			inWord = true
			i++
			cur.WriteByte(line[i])
		case c == '#' && !inWord:
			flush()
			return words
		case c == ' ' || c == '\t':
			flush()
		case strings.IndexByte("|&;<>", c) >= 0:
			flush()
			op := string(c)
			if i+1 < len(line) && line[i+1] == c {
				op += string(c)
				i++
			}
			words = append(words, "\x00"+op)
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	flush()
	return words
}

// readmeJitbenchArgs returns the arguments of every jitbench command among
// words: a "jitbench" word at the start or after an operator, up to the next
// operator.
func readmeJitbenchArgs(words []string) [][]string {
	var out [][]string
	for i := 0; i < len(words); i++ {
		if words[i] != "jitbench" || (i > 0 && !strings.HasPrefix(words[i-1], "\x00")) {
			continue
		}
		var args []string
		for i++; i < len(words) && !strings.HasPrefix(words[i], "\x00"); i++ {
			args = append(args, words[i])
		}
		out = append(out, args)
	}
	return out
}

func TestReadmeShellWords(t *testing.T) {
	line := `GRANT=$(jitbench access show --as alice "$REQ" --grant-only) && jitbench run x.yaml -o r.json | jq . # a comment`
	subs, rest := readmeExtractSubstitutions(line)
	require.Equal(t, []string{`jitbench access show --as alice "$REQ" --grant-only`}, subs)
	assert.Equal(t, [][]string{{"access", "show", "--as", "alice", "$REQ", "--grant-only"}},
		readmeJitbenchArgs(readmeShellWords(subs[0])))
	assert.Equal(t, [][]string{{"run", "x.yaml", "-o", "r.json"}}, readmeJitbenchArgs(readmeShellWords(rest)))
	assert.Equal(t, [][]string{{"serve"}}, readmeJitbenchArgs(readmeShellWords(`jitbench serve &   # in the background`)))
	assert.Equal(t, [][]string{{"conformance", "--markdown", "$GITHUB_STEP_SUMMARY", "--run", "ALG-*"}},
		readmeJitbenchArgs(readmeShellWords(`jitbench conformance --markdown "$GITHUB_STEP_SUMMARY" --run 'ALG-*'`)))
	assert.Empty(t, readmeJitbenchArgs(readmeShellWords(`kubectl logs job/jitbench-merge > merged.json`)))
}

// readmeCheckParses runs cmd with --help appended and fails t unless the
// subcommands and flags it names exist.
func readmeCheckParses(t readmeT, c readmeCommand) {
	t.Helper()
	args := append(append([]string(nil), c.args...), "--help")
	found, rest, err := newRoot().Find(args)
	require.NoError(t, err, "%s: %s", c.page, c.line)
	if found.HasSubCommands() {
		for i, a := range rest {
			if i > 0 && readmeFlagTakesValue(found, rest[i-1]) {
				continue // the value of a flag (conformance --config target.yaml), not a subcommand
			}
			require.True(t, strings.HasPrefix(a, "-"),
				"%s: %q is not a subcommand of %q in: %s", c.page, a, found.CommandPath(), c.line)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, exitOK, code, "%s: %s\n%s", c.page, c.line, stderr.String())
	require.Contains(t, stdout.String(), "Usage:\n  "+found.CommandPath(), "%s: %s", c.page, c.line)
}

// readmeFlagTakesValue reports whether arg is a flag of c that takes the next word as its value.
func readmeFlagTakesValue(c *cobra.Command, arg string) bool {
	if !strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return false
	}
	name := strings.TrimLeft(arg, "-")
	f := c.Flags().Lookup(name)
	if f == nil {
		f = c.InheritedFlags().Lookup(name)
	}
	if f == nil && len(name) == 1 {
		if f = c.Flags().ShorthandLookup(name); f == nil {
			f = c.InheritedFlags().ShorthandLookup(name)
		}
	}
	return f != nil && f.Value.Type() != "bool"
}

func TestReadmeCommandsParse(t *testing.T) {
	total := 0
	for _, rel := range readmePages(t) {
		p := readmeLoad(t, rel)
		cmds := readmeCommands(p)
		total += len(cmds)
		for _, c := range cmds {
			t.Run(rel+"/"+strings.Join(c.args, "_"), func(t *testing.T) { readmeCheckParses(t, c) })
		}
	}
	assert.Greater(t, total, 60, "the pages show far fewer jitbench commands than expected: is the extraction broken?")
}

func TestReadmeCommandCheckCatchesTypos(t *testing.T) {
	for _, args := range [][]string{
		{"lod", "--target", "inprocess"},                  // no such command
		{"report", "rendr", "result.json"},                // no such subcommand of a group
		{"load", "--target", "inprocess", "--callz", "5"}, // no such flag
	} {
		failed := readmeCountFailures(func(rt readmeT) {
			readmeCheckParses(rt, readmeCommand{page: "test", line: strings.Join(args, " "), args: args})
		})
		assert.Equal(t, 1, failed, "jitbench %v must be refused", args)
	}
}

// The examples the pages say run as shown, each with what its output must say.
var readmeRunnable = []struct {
	page, line, want string
}{
	{"README.md", "jitbench repro clock-drift", "GRANT_NOT_YET_VALID"},
	{"README.md", "jitbench repro deadline-too-short-for-approval", "APPROVAL_PENDING"},
	{"README.md", "jitbench load --target inprocess --calls 500", "500 calls"},
	{"docs/scenarios.md", "jitbench list --tag seed", "clock-drift"},
	{"docs/scenarios.md", "jitbench list --faults", "clock-skew"},
	{"docs/reference-system.md", `jitbench token explain "$(jitbench token mint --sub alice --scope /demo.v1.Vault/Read)"`, "alice"},
}

func TestReadmeExamplesRun(t *testing.T) {
	for _, ex := range readmeRunnable {
		t.Run(ex.line, func(t *testing.T) {
			p := readmeLoad(t, ex.page)
			var shown []string
			for _, c := range readmeCommands(p) {
				shown = append(shown, strings.TrimSpace(readmeShellWordsComment(c.line)))
			}
			require.Contains(t, shown, ex.line, "%s no longer shows this example", ex.page)
			subs, rest := readmeExtractSubstitutions(ex.line)
			for _, s := range subs {
				args := readmeJitbenchArgs(readmeShellWords(s))
				require.Len(t, args, 1)
				res := runCLI(t, "", args[0]...)
				require.Equal(t, exitOK, res.code, res.stderr)
				rest = strings.Replace(rest, "SUBST", strings.TrimSpace(res.stdout), 1)
			}
			args := readmeJitbenchArgs(readmeShellWords(rest))
			require.Len(t, args, 1)
			res := runCLI(t, "", args[0]...)
			require.Equal(t, exitOK, res.code, "%s\nstdout:\n%s\nstderr:\n%s", ex.line, res.stdout, res.stderr)
			assert.Contains(t, res.stdout, ex.want)
		})
	}
}

// readmeShellWordsComment drops a line's trailing # comment (outside quotes).
func readmeShellWordsComment(line string) string {
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' '):
			return strings.TrimRight(line[:i], " ")
		}
	}
	return line
}

func TestDocsReasonTableMatchesCatalog(t *testing.T) {
	p := readmeLoad(t, "docs/jit-model.md")
	row := regexp.MustCompile("^\\| `([A-Z_]+)` \\| ([A-Z_]+) \\| ([a-z]+) \\|")
	type entry struct{ code, origin string }
	got := map[string]entry{}
	var order []string
	for _, line := range p.prose {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		_, dup := got[m[1]]
		assert.False(t, dup, "%s is listed twice", m[1])
		got[m[1]] = entry{m[2], m[3]}
		order = append(order, m[1])
	}
	want := map[string]entry{}
	var wantOrder []string
	for _, info := range reason.Catalog() {
		want[string(info.Reason)] = entry{reason.CodeName(info.Code), string(info.Origin)}
		wantOrder = append(wantOrder, string(info.Reason))
	}
	assert.Equal(t, want, got, "docs/jit-model.md's reason table differs from reason.Catalog()")
	assert.Equal(t, wantOrder, order, "list the reasons in the catalog's order")
}

func TestDocsYAMLExamplesLoad(t *testing.T) {
	checked := 0
	for _, rel := range readmePages(t) {
		p := readmeLoad(t, rel)
		for i, b := range p.blocks {
			if b.lang != "yaml" || len(b.lines) == 0 {
				continue
			}
			text := strings.Join(b.lines, "\n") + "\n"
			name := rel + "#" + string(rune('0'+i))
			switch {
			case strings.HasPrefix(b.lines[0], "rules:"):
				_, err := policy.Parse(name, []byte(text))
				assert.NoError(t, err, "%s: the policy example does not load", rel)
				checked++
			case strings.HasPrefix(b.lines[0], "name:"):
				_, err := scenarios.Parse(name, []byte(text), scenarios.LoadOptions{})
				assert.NoError(t, err, "%s: the scenario example does not load", rel)
				checked++
			}
		}
	}
	assert.GreaterOrEqual(t, checked, 2, "the policy and scenario examples were not found")
}

// TestDocsGoExampleCallsTheVault runs the code of docs/go.md's first example.
func TestDocsGoExampleCallsTheVault(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := readmeLoad(t, "docs/go.md")
	require.Contains(t, p.text, `stack.DevMinting("alice", 5*time.Minute, nil)`)

	call := func() error {
		svc, err := stack.New(stack.Config{}) // development keys, audience demo.v1.Vault
		if err != nil {
			return err
		}
		go svc.Serve(lis)
		defer svc.Stop()

		m := stack.DevMinting("alice", 5*time.Minute, nil) // signs both credentials; no approval
		creds := interceptor.NewCredentials(interceptor.ClientConfig{Identity: m, Grants: m, Insecure: true})
		conn, err := grpc.NewClient(lis.Addr().String(),
			grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = demov1.NewVaultClient(conn).Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
		return err
	}
	require.NoError(t, call())
}
