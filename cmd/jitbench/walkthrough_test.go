package main

import (
	"crypto/tls"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/reference/reason"
)

// TestServeWalkthrough runs the numbered walkthrough serve prints, line by
// line as a shell would, and checks that each line does what it says:
// request, list, approve, a call that succeeds with the grant, revoke, and
// a call refused with GRANT_REVOKED.
func TestServeWalkthrough(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sre := writeFile(t, filepath.Join(dir, "sre.yaml"), `rules:
  - name: vault-sre
    match:
      service: demo.v1.Vault
      methods: [/demo.v1.Vault/*]
      resource: secrets/*
    approvers: [sre]
`)
	acme := writeFile(t, filepath.Join(dir, "acme.yaml"), `rules:
  - name: acme
    match:
      service: acme.Vault
      methods: [/demo.v1.Vault/*]
    approvers: [security]
`)
	tests := []struct {
		name   string
		args   []string
		group  string // carol's group in the lines
		review bool   // the lines include carol's approval
	}{
		{"defaults", nil, "security", true},
		{"another subject for the example tokens", []string{"--sub", "bob"}, "security", true},
		{"auto-approve", []string{"--auto-approve", "10ms"}, "", false},
		{"policy file", []string{"--policy", sre}, "sre", true},
		{"tls", []string{"--tls", "--tls-dir", filepath.Join(dir, "tls")}, "security", true},
		{"another audience, with a policy for it", []string{"--aud", "acme.Vault", "--policy", acme}, "security", true},
		{"another audience, default policy", []string{"--aud", "acme.Vault"}, "security", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startServe(t, append([]string{"--addr", "127.0.0.1:0"}, tt.args...)...)
			out := readHelp(t, p)
			walk := walkthroughLines(out)
			require.NotEmpty(t, walk, "a walkthrough:\n%s", strings.Join(out, "\n"))

			sh := &shell{t: t, vars: map[string]string{}}
			for _, l := range out {
				if m := exportID.FindStringSubmatch(l); m != nil {
					sh.vars["ID"] = m[1]
				}
			}
			var ran []string
			for _, l := range walk {
				ran = append(ran, sh.exec(l))
			}
			joined := strings.Join(walk, "\n")
			assert.Equal(t, tt.review, strings.Contains(joined, "jitbench access approve"), joined)
			if tt.group != "" {
				assert.Contains(t, joined, "--as carol --group "+tt.group)
			}
			assert.Equal(t, []string{"OK", "PermissionDenied, GRANT_REVOKED"}, grpcurlOutcomes(ran), "the two calls, in order")
		})
	}
}

// readHelp returns serve's human output up to its last line.
func readHelp(t *testing.T, p *serveProc) []string {
	t.Helper()
	var out []string
	for {
		l := p.line(t)
		out = append(out, l)
		if l == "Serving; Ctrl-C stops." {
			return out
		}
	}
}

// walkthroughLines returns the commands of the numbered walkthrough.
func walkthroughLines(out []string) []string {
	var cmds []string
	in := false
	for _, l := range out {
		switch {
		case strings.HasPrefix(l, "The JIT flow by hand"):
			in = true
		case in && l == "":
			return cmds
		case in && strings.HasPrefix(l, "       "):
			cmds = append(cmds, strings.TrimSpace(l))
		}
	}
	return cmds
}

func grpcurlOutcomes(ran []string) []string {
	var got []string
	for _, r := range ran {
		if o, ok := strings.CutPrefix(r, "grpcurl: "); ok {
			got = append(got, o)
		}
	}
	return got
}

// shell runs the few shell forms the walkthrough uses: NAME=$(command),
// jitbench and grpcurl command lines, 'single' and "double" quotes, $NAME
// expansion and trailing # comments.
type shell struct {
	t    *testing.T
	vars map[string]string
}

var assignment = regexp.MustCompile(`^([A-Z_]+)=\$\((.*)\)$`)

// exec runs one line and says what it did ("grpcurl: OK" for a call).
func (sh *shell) exec(line string) string {
	t := sh.t
	t.Helper()
	if m := assignment.FindStringSubmatch(line); m != nil {
		words, _ := sh.words(m[2])
		sh.vars[m[1]] = strings.TrimSpace(sh.run(words))
		require.NotEmpty(t, sh.vars[m[1]], "%s printed nothing", line)
		return "set " + m[1]
	}
	words, comment := sh.words(line)
	switch words[0] {
	case "jitbench":
		sh.run(words)
		return "ran"
	case "grpcurl":
		return "grpcurl: " + sh.grpcurl(words[1:], comment)
	}
	require.FailNow(t, "the walkthrough runs a command the test does not know", line)
	return ""
}

// run runs a jitbench command line in-process and returns its stdout.
func (sh *shell) run(words []string) string {
	sh.t.Helper()
	require.Equal(sh.t, "jitbench", words[0])
	r := runCLI(sh.t, "", words[1:]...)
	require.Equal(sh.t, exitOK, r.code, "%s\nstderr: %s", strings.Join(words, " "), r.stderr)
	return r.stdout
}

// grpcurl makes the Read call a grpcurl line describes and checks the
// outcome its comment announces, waiting for it when it is a revocation
// (which reaches the Vault over the broker's feed).
func (sh *shell) grpcurl(args []string, comment string) string {
	t := sh.t
	t.Helper()
	var headers []string
	var body map[string]string
	creds := insecure.NewCredentials()
	var rest []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-plaintext":
		case "-cacert":
			i++
			creds = credentials.NewTLS(&tls.Config{RootCAs: poolFrom(t, args[i]), MinVersion: tls.VersionTLS12})
		case "-H":
			i++
			k, v, ok := strings.Cut(args[i], ": ")
			require.True(t, ok, "header %q", args[i])
			headers = append(headers, k, v)
		case "-d":
			i++
			require.NoError(t, json.Unmarshal([]byte(args[i]), &body))
		default:
			rest = append(rest, args[i])
		}
	}
	require.Equal(t, []string{rest[0], "demo.v1.Vault/Read"}, rest, "grpcurl ADDR demo.v1.Vault/Read")
	conn := dial(t, rest[0], creds)
	want := strings.TrimSpace(comment)
	if want == "OK" {
		_, err := read(t, conn, body["path"], headers...)
		require.NoError(t, err, "the walkthrough says this call succeeds")
		return want
	}
	wantReason := reason.Reason(want[strings.LastIndex(want, " ")+1:])
	require.Eventually(t, func() bool {
		_, err := read(t, conn, body["path"], headers...)
		return reason.Of(err) == wantReason
	}, waitFor, 5*time.Millisecond, "the call never failed with %s", wantReason)
	_, err := read(t, conn, body["path"], headers...)
	d := reason.FromError(err)
	return d.Code.String() + ", " + string(d.Reason)
}

// words splits a command line as a shell would, expanding $NAME outside
// single quotes, and returns the trailing comment apart.
func (sh *shell) words(line string) (words []string, comment string) {
	var cur strings.Builder
	inWord, single, double := false, false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case single:
			if c == '\'' {
				single = false
			} else {
				cur.WriteByte(c)
			}
		case c == '$':
			n := 1
			for n < len(line)-i && (line[i+n] == '_' || line[i+n] >= 'A' && line[i+n] <= 'Z') {
				n++
			}
			name := line[i+1 : i+n]
			require.NotEmpty(sh.t, name, "only $NAME expansions: %s", line)
			v, ok := sh.vars[name]
			require.True(sh.t, ok, "$%s is unset at %q", name, line)
			cur.WriteString(v)
			inWord = true
			i += n - 1
		case double:
			if c == '"' {
				double = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'':
			single, inWord = true, true
		case c == '"':
			double, inWord = true, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words, line[i+1:]
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	require.False(sh.t, single || double, "unbalanced quotes: %s", line)
	if inWord {
		words = append(words, cur.String())
	}
	return words, ""
}
