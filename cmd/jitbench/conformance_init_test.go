package main

import (
	"bytes"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// TestConformanceInitToGreenRun is the newcomer's path: one sample token
// pair from a service (the methods-list zoo member, minted by its own
// signers) and its test keys; 'conformance init' writes the config and
// checks the valid call, 'conformance --config' passes the correct build.
// Two commands, no edit.
func TestConformanceInitToGreenRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := zoo.GenerateKeys(zoo.MethodsList, dir)
	require.NoError(t, err)
	c, err := zoo.Describe(zoo.MethodsList)
	require.NoError(t, err)
	target, err := zoo.Start(zoo.MethodsList, zoo.None, zoo.Options{KeysDir: dir})
	require.NoError(t, err)
	t.Cleanup(target.Stop)
	sign := func(s *zoo.Signer, cr *zoo.Credential) string {
		tok, err := s.Sign(cr.ValidHeader(), cr.ValidClaims(time.Now()))
		require.NoError(t, err)
		return tok
	}
	grantFile := writeFile(t, filepath.Join(dir, "grant.jwt"), sign(m.Grant, &c.Grant)+"\n")
	cfg := filepath.Join(dir, "conf", "target.yaml")
	require.NoError(t, os.Mkdir(filepath.Dir(cfg), 0o700))
	args := []string{"conformance", "init", "--address", target.Addr,
		"--sample-identity", "Bearer " + sign(m.Identity, c.Identity), "--sample-grant", "@" + grantFile,
		"--identity-keys", filepath.Join(dir, c.Identity.Key.PrivatePath), "--grant-keys", filepath.Join(dir, c.Grant.Key.PrivatePath),
		"--grant-header", c.Grant.Header, "--leeway", c.Leeway.String(), "-o", cfg}

	res := runCLI(t, "", args...)
	require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr: %s", res.stdout, res.stderr)
	assert.Empty(t, res.stdout, "the config goes to -o")
	assert.Contains(t, res.stderr, "grant scope: methods (a list): /orders.v1.Orders/GetOrder /orders.v1.Orders/WatchOrders")
	assert.Contains(t, res.stderr, "keys.grant: "+filepath.Join(dir, c.Grant.Key.PrivatePath)+" verifies the sample's signature")
	assert.Contains(t, res.stderr, "to check or supply:")
	assert.Contains(t, res.stderr, "checked: the valid call (OK-001) answered OK")
	written, err := os.ReadFile(cfg)
	require.NoError(t, err)
	assert.Contains(t, string(written), "file: ../grant.key.pem", "key paths are relative to the config's directory")

	run := runCLI(t, "", "conformance", "--config", cfg)
	require.Equal(t, exitOK, run.code, "stdout:\n%s\nstderr: %s", run.stdout, run.stderr)
	assert.Regexp(t, `\nPASS: 49 cases: \d+ passed, 0 failed`, run.stdout)

	again := runCLI(t, "", args...)
	assert.Equal(t, exitUsage, again.code)
	assert.Contains(t, again.stderr, "exists: --force overwrites it")
	forced := runCLI(t, "", append(args, "--force", "--no-check")...)
	assert.Equal(t, exitOK, forced.code, forced.stderr)
	assert.NotContains(t, forced.stderr, "checked:")
}

// TestConformanceInitRefuses: a sample that is not a JWT, an address
// nothing answers on, and a service without reflection each end in one
// line and exit 2, with nothing written.
func TestConformanceInitRefuses(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding.EncodeToString
	good := enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(`{"methods":["/a.B/C"]}`)) + ".c2ln"
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	nobody := closed.Addr().String()
	require.NoError(t, closed.Close())
	bare := startBareGRPC(t)
	out := filepath.Join(t.TempDir(), "target.yaml")
	huge := filepath.Join(t.TempDir(), "huge.jwt")
	require.NoError(t, os.WriteFile(huge, bytes.Repeat([]byte("a"), 1<<20+1), 0o600))

	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"not a JWT":      {[]string{"--address", nobody, "--sample-token", "hello"}, "--sample-token: not a usable sample token: a JWT has three base64url parts"},
		"unreachable":    {[]string{"--address", nobody, "--sample-token", good}, "the target is unreachable"},
		"no reflection":  {[]string{"--address", bare, "--sample-token", good}, "the target offers no server reflection"},
		"bad profile":    {[]string{"--address", nobody, "--sample-token", good, "--profile", "three-token"}, "--profile: want two-token or single-token"},
		"no sample file": {[]string{"--address", nobody, "--sample-token", "@/nonexistent/token.jwt"}, "--sample-token: /nonexistent/token.jwt: no such file or directory"},
		"huge sample":    {[]string{"--address", nobody, "--sample-token", "@" + huge}, "larger than 1 MiB, its size limit"},
	} {
		t.Run(name, func(t *testing.T) {
			res := runCLI(t, "", append([]string{"conformance", "init", "-o", out}, tt.args...)...)
			assert.Equal(t, exitUsage, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(res.stderr), "\n")+1, "one line: %q", res.stderr)
			assert.NoFileExists(t, out)
		})
	}
}

// startBareGRPC serves a gRPC server with no service at all, not even reflection, and returns its address.
func startBareGRPC(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}
