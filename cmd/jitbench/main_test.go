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
		{"serve --tls-dir onto a file", []string{"serve", "--addr", "127.0.0.1:0", "--tls", "--tls-dir", aFile}, "", []string{"--tls-dir", aFile}},
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

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "version")
	assert.Equal(t, exitOK, r.code)
	assert.Empty(t, r.stderr)
	want := `^jitbench \S+ go\S+ ` + regexp.QuoteMeta(runtime.GOOS+"/"+runtime.GOARCH) + "\n$"
	assert.Regexp(t, want, r.stdout)
}
