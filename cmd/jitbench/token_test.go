package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// mint runs 'jitbench token mint args...' and returns the printed token.
func mint(t *testing.T, args ...string) string {
	t.Helper()
	r := runCLI(t, "", append([]string{"token", "mint"}, args...)...)
	require.Equal(t, exitOK, r.code, "mint %v: %s", args, r.stderr)
	require.Empty(t, r.stderr)
	require.True(t, strings.HasSuffix(r.stdout, "\n"), "mint output ends a line")
	raw := strings.TrimSpace(r.stdout)
	require.Len(t, strings.Split(raw, "."), 3, "a compact JWT: %q", raw)
	return raw
}

// explainJSON runs 'jitbench token explain --json args... tok' and decodes the result.
func explainJSON(t *testing.T, tok string, args ...string) (int, token.Explanation) {
	t.Helper()
	r := runCLI(t, "", append(append([]string{"token", "explain", "--json"}, args...), tok)...)
	require.Empty(t, r.stderr)
	var e token.Explanation
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &e), "explain --json: %s", r.stdout)
	return r.code, e
}

func TestMintExplainRoundTrip(t *testing.T) {
	t.Parallel()
	readGrant := []string{"--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--ttl", "5m"}
	tests := []struct {
		name    string
		mint    []string
		explain []string
		code    int
		want    []string // substrings of stdout
		match   []string // regexps stdout must match
	}{
		{
			name: "fresh grant is accepted",
			mint: readGrant,
			code: exitOK,
			want: []string{
				`A grant token signed with EdDSA (kid "jitbench-dev-broker-EdDSA"), issued by "jitbench-dev-broker" to "alice".`,
				"Scope: methods [/demo.v1.Vault/Read], resource (any).",
				`by a verifier trusting "jitbench-dev-broker".`,
			},
			match: []string{`(?m)^Accepted at `, `(?m)^Expires in (4m5\ds|5m0s) `},
		},
		{
			name:    "five-minute grant ten minutes on is expired",
			mint:    readGrant,
			explain: []string{"--at", "+10m"},
			code:    exitFailed,
			want:    []string{"Refused with PERMISSION_DENIED / GRANT_EXPIRED", "Fix: request a new grant"},
			match: []string{
				`(?m)^Expired 5m\ds ago `,
				`(?m)^It would pass if the verifier's clock were 4m\d+s behind \(leeway 30s\)\.$`,
			},
		},
		{
			name:    "expired with an RFC 3339 --at",
			mint:    readGrant,
			explain: []string{"--at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
			code:    exitFailed,
			want:    []string{"GRANT_EXPIRED"},
		},
		{
			name:    "inside the leeway is still accepted",
			mint:    readGrant,
			explain: []string{"--at", "+5m10s"},
			code:    exitOK,
			match:   []string{`(?m)^Accepted at `},
		},
		{
			name:    "grant judged before it was issued is not yet valid",
			mint:    readGrant,
			explain: []string{"--at", "-10m"},
			code:    exitFailed,
			want:    []string{"GRANT_NOT_YET_VALID"},
			match:   []string{`It would pass if the verifier's clock were \S+ further ahead`},
		},
		{
			name: "grant longer than the maximum lifetime",
			mint: []string{"--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--ttl", "2h"},
			code: exitFailed,
			want: []string{"GRANT_LIFETIME_EXCEEDED"},
		},
		{
			name:    "maximum lifetime raised",
			mint:    []string{"--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--ttl", "2h"},
			explain: []string{"--max-lifetime", "3h"},
			code:    exitOK,
		},
		{
			name: "identity token is explained as identity",
			mint: []string{"--kind", "identity", "--sub", "alice", "--group", "oncall", "--ttl", "1h"},
			code: exitOK,
			want: []string{`identity token signed with EdDSA (kid "jitbench-dev-idp-EdDSA"), issued by "jitbench-dev-idp" to "alice".`,
				`by a verifier trusting "jitbench-dev-idp".`},
		},
		{
			name:    "expired identity token",
			mint:    []string{"--kind", "identity", "--sub", "alice", "--ttl", "1m"},
			explain: []string{"--at", "+1h"},
			code:    exitFailed,
			want:    []string{"UNAUTHENTICATED / IDENTITY_EXPIRED"},
		},
		{
			name: "ES256 grant is accepted by default",
			mint: []string{"--sub", "alice", "--scope", "/demo.v1.Vault/*", "--resource", "secrets/*", "--alg", "ES256"},
			code: exitOK,
			want: []string{`signed with ES256 (kid "jitbench-dev-broker-ES256")`, "Scope: methods [/demo.v1.Vault/*], resource secrets/*."},
		},
		{
			name: "HS256 grant is refused by default",
			mint: []string{"--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--alg", "HS256"},
			code: exitFailed,
			want: []string{"GRANT_ALG_MISMATCH", "The token offers HS256; the verifier accepts only EdDSA,ES256."},
		},
		{
			name:    "HS256 grant is accepted when pinned",
			mint:    []string{"--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--alg", "HS256"},
			explain: []string{"--algorithms", "HS256"},
			code:    exitOK,
			match:   []string{`(?m)^Accepted at `},
		},
		{
			name:    "EdDSA grant refused by a verifier pinning ES256",
			mint:    readGrant,
			explain: []string{"--algorithms", "ES256"},
			code:    exitFailed,
			want:    []string{"GRANT_ALG_MISMATCH", "The token offers EdDSA; the verifier accepts only ES256."},
		},
		{
			name: "grant for another audience",
			mint: []string{"--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--aud", "other.v1.Service"},
			code: exitFailed,
			want: []string{"GRANT_AUDIENCE_MISMATCH"},
		},
		{
			name:    "grant from another broker",
			mint:    readGrant,
			explain: []string{"--grant-issuer", "someone-else"},
			code:    exitFailed,
			// Keys derive from the issuer name, so another issuer has other kids.
			want: []string{"GRANT_UNKNOWN_KEY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mint(t, tt.mint...)
			r := runCLI(t, "", append(append([]string{"token", "explain"}, tt.explain...), tok)...)
			assert.Equal(t, tt.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			assert.Empty(t, r.stderr, "a refusal is reported on stdout, not as an error")
			for _, w := range tt.want {
				assert.Contains(t, r.stdout, w)
			}
			for _, m := range tt.match {
				assert.Regexp(t, m, r.stdout)
			}
			assert.NotContains(t, r.stdout, tok[strings.LastIndexByte(tok, '.')+1:], "never echo the signature")
		})
	}
}

func TestExplainJSON(t *testing.T) {
	t.Parallel()
	grant := mint(t, "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--ttl", "5m")
	identity := mint(t, "--kind", "identity", "--sub", "alice")
	tests := []struct {
		name     string
		tok      string
		args     []string
		code     int
		accepted bool
		kind     string
		codeName string
		reason   reason.Reason
		metaKeys []string
	}{
		{"accepted grant", grant, nil, exitOK, true, "grant", "OK", "", nil},
		{"expired grant", grant, []string{"--at", "+10m"}, exitFailed, false, "grant", "PERMISSION_DENIED", reason.GrantExpired, []string{"skew_needed", "leeway"}},
		{"alg not pinned", grant, []string{"--algorithms", "ES256"}, exitFailed, false, "grant", "PERMISSION_DENIED", reason.GrantAlgMismatch, []string{"offered_algorithm", "accepted_algorithms"}},
		{"accepted identity", identity, nil, exitOK, true, "identity", "OK", "", nil},
		{"garbage", "not-a-jwt", nil, exitFailed, false, "unknown", "PERMISSION_DENIED", reason.GrantMalformed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append(append([]string{"token", "explain", "--json"}, tt.args...), tt.tok)...)
			assert.Equal(t, tt.code, r.code)
			assert.Empty(t, r.stderr)

			// The documented field names, decoded without the Go type.
			var doc map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), r.stdout)
			assert.Equal(t, tt.accepted, doc["accepted"])
			assert.Equal(t, tt.codeName, doc["code"])
			assert.Equal(t, tt.kind, doc["kind"])
			assert.NotEmpty(t, doc["lines"])
			if tt.reason != "" {
				assert.Equal(t, string(tt.reason), doc["reason"])
				assert.NotEmpty(t, doc["message"])
			}

			_, e := explainJSON(t, tt.tok, tt.args...)
			assert.Equal(t, tt.reason, e.Reason)
			for _, k := range tt.metaKeys {
				assert.Contains(t, e.Metadata, k)
			}
		})
	}
}

func TestExplainStdin(t *testing.T) {
	t.Parallel()
	grant := mint(t, "--sub", "alice", "--scope", "/demo.v1.Vault/Read")
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"token and newline", grant + "\n", nil, exitOK, "Accepted at "},
		{"bearer header value", "Bearer " + grant + "\r\n", nil, exitOK, "Accepted at "},
		{"json", grant, []string{"--json"}, exitOK, `"accepted": true`},
		{"judged later", grant, []string{"--at", "+1h"}, exitFailed, "GRANT_EXPIRED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, append(append([]string{"token", "explain"}, tt.args...), "-")...)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Contains(t, r.stdout, tt.want)
		})
	}
}

// TestKeygenKeyFiles mints with a key file from keygen: the same file
// verifies the token, the development keys do not.
func TestKeygenKeyFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		alg     string
		explain []string // extra explain flags the algorithm needs
	}{
		{token.EdDSA, nil},
		{token.ES256, nil},
		{token.HS256, []string{"--algorithms", "HS256"}},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "broker.jwks")
			kid := "broker-" + strings.ToLower(tt.alg)
			r := runCLI(t, "", "token", "keygen", "--alg", tt.alg, "--kid", kid, "-o", path)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Empty(t, r.stdout, "-o writes the file only")
			st, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "a private key file is private")
			set, err := token.ReadKeyFile(path)
			require.NoError(t, err)
			require.Len(t, set.Keys(), 1)
			assert.Equal(t, kid, set.Keys()[0].ID)
			assert.Equal(t, tt.alg, set.Keys()[0].Algorithm)
			assert.NotNil(t, set.Keys()[0].Private)

			grant := mint(t, "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--grant-keys", path)

			code, e := explainJSON(t, grant, append([]string{"--grant-keys", path}, tt.explain...)...)
			assert.Equal(t, exitOK, code, e.Lines)
			assert.True(t, e.Accepted)
			assert.Equal(t, kid, e.Header["kid"])
			assert.Equal(t, tt.alg, e.Header["alg"])

			code, e = explainJSON(t, grant, tt.explain...)
			assert.Equal(t, exitFailed, code)
			assert.False(t, e.Accepted)
			assert.Contains(t, []reason.Reason{reason.GrantUnknownKey, reason.GrantBadSignature}, e.Reason)
		})
	}
}

func TestKeygenStdout(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "token", "keygen", "--alg", "ES256")
	require.Equal(t, exitOK, r.code, r.stderr)
	set, err := token.ParseKeySet([]byte(r.stdout))
	require.NoError(t, err)
	require.Len(t, set.Keys(), 1)
	assert.Regexp(t, `^es256-[0-9a-f]{8}$`, set.Keys()[0].ID)
}

// TestPublicKeyFile verifies with a public-only key file, which cannot sign.
func TestPublicKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	private := filepath.Join(dir, "broker.jwks")
	r := runCLI(t, "", "token", "keygen", "--alg", "EdDSA", "--kid", "b1", "-o", private)
	require.Equal(t, exitOK, r.code, r.stderr)
	set, err := token.ReadKeyFile(private)
	require.NoError(t, err)
	doc, err := token.MarshalKeySet(set.Public().Keys())
	require.NoError(t, err)
	public := writeFile(t, filepath.Join(dir, "broker.pub.jwks"), string(doc))

	grant := mint(t, "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--grant-keys", private)
	code, e := explainJSON(t, grant, "--grant-keys", public)
	assert.Equal(t, exitOK, code, e.Lines)

	r = runCLI(t, "", "token", "mint", "--sub", "alice", "--scope", "/demo.v1.Vault/Read", "--grant-keys", public, "--kid", "b1")
	assert.Equal(t, exitUsage, r.code)
	assert.Equal(t, "jitbench: key \"b1\" has no private part: it can verify but not sign\n", r.stderr)
}

func TestParseAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"", now, ""},
		{"now", now, ""},
		{"+10m", now.Add(10 * time.Minute), ""},
		{"-1h30m", now.Add(-90 * time.Minute), ""},
		{"2026-11-22T19:00:00Z", now.Add(time.Hour), ""},
		{"2026-11-22T20:00:00+01:00", now.Add(time.Hour), ""},
		{"+5x", time.Time{}, `bad offset "+5x"`},
		{"garbage", time.Time{}, `"garbage"`},
		{"10m", time.Time{}, `"10m"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseAt(tt.in, now)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %s, want %s", got, tt.want)
		})
	}
}
