package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is what one in-process run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in-process with stdin and returns its exit code and
// output. A serve that starts when it should not stops at the deadline.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in different goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// TestUsageErrors checks that bad usage, input or config exits 2 with a
// single line on stderr that names the flag, argument or file at fault.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.jwks")
	// The second comma on line 3 is the syntax error: column 19.
	malformed := writeFile(t, filepath.Join(dir, "malformed.jwks"), "{\n  \"keys\": [\n    {\"kty\": \"OKP\",, \"kid\": \"k\"}\n  ]\n}\n")
	unknownAlg := writeFile(t, filepath.Join(dir, "unknown-alg.jwks"),
		`{"keys":[{"kty":"oct","kid":"k1","alg":"PS999","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}]}`)
	noKeys := writeFile(t, filepath.Join(dir, "empty.jwks"), `{"keys":[]}`)
	aFile := writeFile(t, filepath.Join(dir, "a-file"), "not a directory")
	// "many" on line 7 is the error: column 16.
	badPolicy := writeFile(t, filepath.Join(dir, "bad-policy.yaml"), `rules:
  - name: vault
    match:
      service: demo.v1.Vault
      methods: [/demo.v1.Vault/*]
    approvers: [security]
    approvals: many
`)
	emptyDir := t.TempDir()
	free := "127.0.0.1:0"

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = busy.Close() })

	grant := "eyJhbGciOiJFZERTQSJ9.e30.c2ln" // never judged: every case fails before
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []string // substrings of the one stderr line
	}{
		{"unknown flag on root", []string{"--bogus"}, "", []string{"unknown flag: --bogus"}},
		{"unknown flag on mint", []string{"token", "mint", "--bogus"}, "", []string{"jitbench token mint", "--bogus"}},
		{"unknown shorthand flag", []string{"token", "explain", "-z", grant}, "", []string{"-z"}},
		{"unknown subcommand", []string{"tokn"}, "", []string{`unknown command "tokn"`, `"jitbench"`}},
		{"unknown token subcommand", []string{"token", "foo"}, "", []string{`unknown command "foo"`, `"jitbench token"`}},
		{"bad duration", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--ttl", "5x"}, "", []string{"--ttl", `"5x"`}},
		{"zero duration", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--ttl", "0"}, "", []string{"--ttl"}},
		{"negative duration", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--ttl", "-5m"}, "", []string{"--ttl"}},
		{"bad serve duration", []string{"serve", "--addr", "127.0.0.1:0", "--token-ttl", "soon"}, "", []string{"--token-ttl", `"soon"`}},
		{"unknown alg on mint", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--alg", "PS999"}, "", []string{"--alg", `"PS999"`}},
		{"alg the key set lacks", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--alg", "RS256"}, "", []string{"--alg", "RS256"}},
		{"unknown kid", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--kid", "nope"}, "", []string{"--kid", `"nope"`}},
		{"unknown alg on keygen", []string{"token", "keygen", "--alg", "PS999"}, "", []string{"--alg", `"PS999"`}},
		{"unknown algorithms on explain", []string{"token", "explain", "--algorithms", "foo", grant}, "", []string{"--algorithms", `"foo"`}},
		{"unknown algorithms on serve", []string{"serve", "--addr", "127.0.0.1:0", "--algorithms", "EdDSA,foo"}, "", []string{"--algorithms", `"foo"`}},
		{"missing --sub", []string{"token", "mint", "--scope", "/demo.v1.Vault/Read"}, "", []string{"--sub is required"}},
		{"empty --sub", []string{"token", "mint", "--sub", "", "--scope", "/demo.v1.Vault/Read"}, "", []string{"--sub is required"}},
		{"grant without --scope", []string{"token", "mint", "--sub", "alice"}, "", []string{"--scope is required"}},
		{"--kind bogus", []string{"token", "mint", "--kind", "bogus", "--sub", "alice"}, "", []string{"--kind", `"bogus"`}},
		{"missing grant key file", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--grant-keys", missing}, "", []string{"--grant-keys", missing}},
		{"missing identity key file", []string{"token", "explain", "--identity-keys", missing, grant}, "", []string{"--identity-keys", missing}},
		{"missing key file on serve", []string{"serve", "--addr", "127.0.0.1:0", "--grant-keys", missing}, "", []string{"--grant-keys", missing}},
		{"malformed key file", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--grant-keys", malformed}, "", []string{"--grant-keys", malformed + ":3:19:"}},
		{"malformed key file on explain", []string{"token", "explain", "--grant-keys", malformed, grant}, "", []string{"--grant-keys", malformed + ":3:19:"}},
		{"key file with unknown alg", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--grant-keys", unknownAlg}, "", []string{"--grant-keys", unknownAlg, `"PS999"`}},
		{"key file without keys", []string{"token", "mint", "--kind", "identity", "--sub", "alice", "--identity-keys", noKeys}, "", []string{"--identity-keys", noKeys, "no keys"}},
		{"extra arg on mint", []string{"token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "extra"}, "", []string{"jitbench token mint", `unexpected argument "extra"`}},
		{"extra arg on version", []string{"version", "extra"}, "", []string{"jitbench version", `unexpected argument "extra"`}},
		{"extra arg on serve", []string{"serve", "--addr", "127.0.0.1:0", "extra"}, "", []string{"jitbench serve", `unexpected argument "extra"`}},
		{"extra arg on keygen", []string{"token", "keygen", "extra"}, "", []string{"jitbench token keygen", `unexpected argument "extra"`}},
		{"explain without token", []string{"token", "explain"}, "", []string{"jitbench token explain", "received 0"}},
		{"explain with two tokens", []string{"token", "explain", grant, grant}, "", []string{"jitbench token explain", "received 2"}},
		{"explain an empty argument", []string{"token", "explain", ""}, "", []string{"TOKEN argument is empty"}},
		{"explain empty stdin", []string{"token", "explain", "-"}, " \n", []string{"no token on stdin"}},
		{"--at garbage", []string{"token", "explain", "--at", "garbage", grant}, "", []string{"--at", `"garbage"`}},
		{"--at bad offset", []string{"token", "explain", "--at", "+5x", grant}, "", []string{"--at", `"+5x"`}},
		{"serve --addr without port", []string{"serve", "--addr", "nonsense"}, "", []string{"--addr"}},
		{"serve --addr in use", []string{"serve", "--addr", busy.Addr().String()}, "", []string{"--addr", busy.Addr().String()}},
		{"serve --token-ttl over --max-lifetime", []string{"serve", "--addr", "127.0.0.1:0", "--token-ttl", "2h"}, "", []string{"--token-ttl", "--max-lifetime"}},
		{"serve --max-lifetime 0", []string{"serve", "--addr", "127.0.0.1:0", "--max-lifetime", "0"}, "", []string{"--max-lifetime"}},
		{"serve --tls-dir onto a file", []string{"serve", "--addr", "127.0.0.1:0", "--broker-addr", free, "--tls", "--tls-dir", aFile}, "", []string{"--tls-dir", aFile}},
		{"serve --policy with an error", []string{"serve", "--addr", free, "--broker-addr", free, "--policy", badPolicy}, "", []string{"--policy", badPolicy + ":7:16:", `"many"`}},
		{"serve --policy missing", []string{"serve", "--addr", free, "--broker-addr", free, "--policy", missing}, "", []string{"--policy", missing}},
		{"serve --revocation-mode bogus", []string{"serve", "--addr", free, "--broker-addr", free, "--revocation-mode", "lax"}, "", []string{"--revocation-mode", `"lax"`}},
		{"serve --auto-approve negative", []string{"serve", "--addr", free, "--broker-addr", free, "--auto-approve", "-1s"}, "", []string{"--auto-approve"}},
		{"serve --auto-approve garbage", []string{"serve", "--addr", free, "--auto-approve", "soon"}, "", []string{"--auto-approve", `"soon"`}},
		{"serve --max-staleness 0", []string{"serve", "--addr", free, "--broker-addr", free, "--max-staleness", "0"}, "", []string{"--max-staleness"}},
		{"serve --broker-addr without port", []string{"serve", "--addr", free, "--broker-addr", "nonsense"}, "", []string{"--broker-addr"}},
		{"serve --broker-addr in use", []string{"serve", "--addr", free, "--broker-addr", busy.Addr().String()}, "", []string{"--broker-addr", busy.Addr().String()}},
		{"serve --metrics-addr in use", []string{"serve", "--addr", free, "--broker-addr", free, "--metrics-addr", busy.Addr().String()}, "", []string{"--metrics-addr", busy.Addr().String()}},
		{"serve --data-dir onto a file", []string{"serve", "--addr", free, "--broker-addr", free, "--data-dir", aFile}, "", []string{"--data-dir", aFile}},
		{"unknown access subcommand", []string{"access", "grant"}, "", []string{`unknown command "grant"`, `"jitbench access"`}},
		{"access request without --scope", []string{"access", "request"}, "", []string{"--scope is required"}},
		{"access request with an empty --scope", []string{"access", "request", "--scope", " "}, "", []string{"--scope"}},
		{"access request --duration negative", []string{"access", "request", "--scope", "Read", "--duration", "-1m"}, "", []string{"--duration"}},
		{"access request --wait garbage", []string{"access", "request", "--scope", "Read", "--wait", "later"}, "", []string{"--wait", `"later"`}},
		{"access request --grant-only --id-only", []string{"access", "request", "--scope", "Read", "--grant-only", "--id-only"}, "", []string{"--grant-only", "--id-only"}},
		{"access request --json --grant-only", []string{"access", "request", "--scope", "Read", "--json", "--grant-only"}, "", []string{"--json", "--grant-only"}},
		{"access request --service empty", []string{"access", "request", "--scope", "Read", "--service", ""}, "", []string{"--service"}},
		{"access --broker without port", []string{"access", "list", "--broker", "localhost"}, "", []string{"--broker", `"localhost"`}},
		{"access --timeout 0", []string{"access", "list", "--timeout", "0"}, "", []string{"--timeout"}},
		{"access --as empty", []string{"access", "list", "--as", ""}, "", []string{"--as is required"}},
		{"access --identity with --as", []string{"access", "list", "--identity", grant, "--as", "bob"}, "", []string{"--identity", "--as"}},
		{"access --identity with --group", []string{"access", "list", "--identity", grant, "--group", "security"}, "", []string{"--identity", "--group"}},
		{"access --identity empty", []string{"access", "list", "--identity", ""}, "", []string{"--identity is empty"}},
		{"access --identity-keys missing", []string{"access", "list", "--identity-keys", missing}, "", []string{"--identity-keys", missing}},
		{"access --identity-keys malformed", []string{"access", "list", "--identity-keys", malformed}, "", []string{"--identity-keys", malformed + ":3:19:"}},
		{"access list --state bogus", []string{"access", "list", "--state", "bogus"}, "", []string{"--state", `"bogus"`}},
		{"access list --state unspecified", []string{"access", "list", "--state", "unspecified"}, "", []string{"--state"}},
		{"access list --limit negative", []string{"access", "list", "--limit", "-1"}, "", []string{"--limit"}},
		{"access show without id", []string{"access", "show"}, "", []string{"jitbench access show", "received 0"}},
		{"access approve two ids", []string{"access", "approve", "a", "b"}, "", []string{"jitbench access approve", "received 2"}},
		{"access revoke an empty id", []string{"access", "revoke", ""}, "", []string{"ID argument is empty"}},
		{"access show --grant-only --json", []string{"access", "show", "x", "--grant-only", "--json"}, "", []string{"--json", "--grant-only"}},
		{"access list extra arg", []string{"access", "list", "extra"}, "", []string{"jitbench access list", `unexpected argument "extra"`}},
		{"audit export without --data-dir", []string{"audit", "export"}, "", []string{"--data-dir is required"}},
		{"audit export --data-dir missing", []string{"audit", "export", "--data-dir", missing}, "", []string{"--data-dir", missing}},
		{"audit export --data-dir without state", []string{"audit", "export", "--data-dir", emptyDir}, "", []string{"--data-dir", emptyDir, "holds no broker state"}},
		{"audit export extra arg", []string{"audit", "export", "extra"}, "", []string{"jitbench audit export", `unexpected argument "extra"`}},
		{"unknown audit subcommand", []string{"audit", "import"}, "", []string{`unknown command "import"`}},
		// Every file the CLI reads has a size cap: an endless one is one line, not an out-of-memory crash.
		{"serve --policy endless", []string{"serve", "--addr", free, "--broker-addr", free, "--policy", "/dev/zero"}, "", []string{"--policy", "/dev/zero", "larger than 2 MiB"}},
		{"serve --grant-keys endless", []string{"serve", "--addr", free, "--grant-keys", "/dev/zero"}, "", []string{"--grant-keys", "/dev/zero", "larger than 1 MiB"}},
		{"token mint --identity-keys endless", []string{"token", "mint", "--kind", "identity", "--sub", "alice", "--identity-keys", "/dev/zero"}, "", []string{"--identity-keys", "/dev/zero", "larger than 1 MiB"}},
		{"report render endless", []string{"report", "render", "/dev/zero"}, "", []string{"/dev/zero", "larger than 256 MiB"}},
		{"keygen -o into a missing directory", []string{"token", "keygen", "-o", filepath.Join(missing, "k.jwks")}, "", []string{"-o", missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, tt.args...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stdout)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "want exactly one line, got %q", r.stderr)
			assert.True(t, strings.HasPrefix(r.stderr, "jitbench: "), "stderr %q", r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
		})
	}
}

// TestKeygenNeverOverwrites checks that -o onto an existing file exits 2 and leaves it alone.
func TestKeygenNeverOverwrites(t *testing.T) {
	t.Parallel()
	path := writeFile(t, filepath.Join(t.TempDir(), "broker.jwks"), "precious\n")
	r := runCLI(t, "", "token", "keygen", "--alg", "ES256", "-o", path)
	assert.Equal(t, exitUsage, r.code)
	assert.Equal(t, "jitbench: -o: "+path+" exists; not overwriting a key file\n", r.stderr)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "precious\n", string(got))
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string // the command path in the usage line
	}{
		{[]string{}, "jitbench [command]"},
		{[]string{"--help"}, "jitbench [command]"},
		{[]string{"-h"}, "jitbench [command]"},
		{[]string{"help", "token"}, "jitbench token [command]"},
		{[]string{"version", "--help"}, "jitbench version"},
		{[]string{"serve", "--help"}, "jitbench serve"},
		{[]string{"token"}, "jitbench token [command]"},
		{[]string{"token", "--help"}, "jitbench token [command]"},
		{[]string{"token", "mint", "--help"}, "jitbench token mint"},
		{[]string{"token", "explain", "--help"}, "jitbench token explain TOKEN|-"},
		{[]string{"token", "keygen", "-h"}, "jitbench token keygen"},
		{[]string{"token", "mint", "--sub", "alice", "--help"}, "jitbench token mint"},
		{[]string{"access"}, "jitbench access [command]"},
		{[]string{"access", "--help"}, "jitbench access [command]"},
		{[]string{"access", "request", "--help"}, "jitbench access request"},
		{[]string{"access", "list", "--help"}, "jitbench access list"},
		{[]string{"access", "show", "--help"}, "jitbench access show ID"},
		{[]string{"access", "watch", "--help"}, "jitbench access watch ID"},
		{[]string{"access", "approve", "--help"}, "jitbench access approve ID"},
		{[]string{"access", "deny", "--help"}, "jitbench access deny ID"},
		{[]string{"access", "withdraw", "--help"}, "jitbench access withdraw ID"},
		{[]string{"access", "revoke", "--help"}, "jitbench access revoke ID"},
		{[]string{"audit"}, "jitbench audit [command]"},
		{[]string{"audit", "export", "--help"}, "jitbench audit export"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stderr)
			assert.Contains(t, r.stdout, "Usage:\n")
			assert.Contains(t, r.stdout, "\n  "+tt.want)
			assert.Contains(t, r.stdout, "-h, --help")
		})
	}
}

// TestEveryCommandHasExamples: house style, every command shows how it is used.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.HasSubCommands() {
			assert.NotEmpty(t, c.Example, "%s has no examples", c.CommandPath())
			assert.NotEmpty(t, c.Short, "%s has no summary", c.CommandPath())
		}
	}
	walk(newRoot())
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "version")
	assert.Equal(t, exitOK, r.code)
	assert.Empty(t, r.stderr)
	want := `^jitbench \S+ go\S+ ` + regexp.QuoteMeta(runtime.GOOS+"/"+runtime.GOARCH) + "\n$"
	assert.Regexp(t, want, r.stdout)
}
