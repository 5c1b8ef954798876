package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// roleJSON reads serve's JSON line twice: as the contract, and as a map,
// to see which fields a role leaves out.
func roleJSON(t *testing.T, p *serveProc) (servedJSON, map[string]any) {
	t.Helper()
	l := p.line(t)
	var info servedJSON
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(l), &info), "serve --json printed %q", l)
	require.NoError(t, json.Unmarshal([]byte(l), &raw))
	return info, raw
}

// until calls cond every 20ms until it returns nil, failing t after waitFor.
func until(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, waitFor, err)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval
	}
}

// TestServeRoles runs the broker and the Vault as two serves, as the
// container images do: the Vault verifies with the broker's keys, follows
// its revocations, and fails closed once the broker is gone.
func TestServeRoles(t *testing.T) {
	t.Parallel()
	b := startServeRaw(t, "--role", "broker", "--broker-addr", "127.0.0.1:0", "--auto-approve", "1ms", "--heartbeat-interval", "100ms", "--json")
	binfo, braw := roleJSON(t, b)
	assert.Equal(t, "broker", binfo.Role)
	assert.Regexp(t, `^127\.0\.0\.1:[1-9]\d*$`, binfo.BrokerAddr)
	for _, k := range []string{"addr", "identity", "grant", "subject", "protected"} {
		assert.NotContains(t, braw, k, "no Vault: no %s", k)
	}

	v := startServeRaw(t, "--role", "vault", "--addr", "127.0.0.1:0", "--broker-target", binfo.BrokerAddr, "--max-staleness", "1s", "--json")
	vinfo, _ := roleJSON(t, v)
	assert.Equal(t, "vault", vinfo.Role)
	assert.Equal(t, binfo.BrokerAddr, vinfo.BrokerAddr, "broker_addr is the broker the Vault trusts")
	require.NotEmpty(t, vinfo.Identity)
	require.NotEmpty(t, vinfo.Grant)

	conn := dial(t, vinfo.Addr, insecure.NewCredentials())
	id := bearer(vinfo.Identity)
	_, err := read(t, conn, "secrets/db/password", "authorization", id, "x-jit-grant", vinfo.Grant)
	require.NoError(t, err, "the printed grant verifies with the keys fetched from the broker")

	alice := brokerFor(t, binfo.BrokerAddr, "alice")
	ar, err := alice.RequestAccess(t.Context(), &jitv1.RequestAccessRequest{
		Scope: &jitv1.Scope{Service: token.DevAudience, Methods: []string{"/demo.v1.Vault/Read"}, Resource: "secrets/*"}})
	require.NoError(t, err)
	var grant string
	until(t, "the request is auto-approved", func() error {
		r, err := alice.GetRequest(t.Context(), &jitv1.GetRequestRequest{Id: ar.GetId()})
		if err == nil && r.GetGrant() == "" {
			return assert.AnError
		}
		grant = r.GetGrant()
		return err
	})
	_, err = read(t, conn, "secrets/db/password", "authorization", id, "x-jit-grant", grant)
	require.NoError(t, err, "a grant the broker issued")
	_, err = alice.Revoke(t.Context(), &jitv1.RevokeRequest{Id: ar.GetId()})
	require.NoError(t, err)
	until(t, "the revocation reaches the other process", func() error {
		_, err := read(t, conn, "secrets/db/password", "authorization", id, "x-jit-grant", grant)
		if reason.Of(err) != reason.GrantRevoked {
			return assert.AnError
		}
		return nil
	})

	code, _ := b.stop(t)
	require.Equal(t, exitOK, code, b.stderr.String())
	until(t, "the strict Vault fails closed without its broker", func() error {
		_, err := read(t, conn, "secrets/db/password", "authorization", id, "x-jit-grant", vinfo.Grant)
		if d := reason.FromError(err); d.Code != codes.PermissionDenied || d.Reason != reason.RevocationViewStale {
			return assert.AnError
		}
		return nil
	})
	code, _ = v.stop(t)
	assert.Equal(t, exitOK, code, v.stderr.String())
}

// TestServeRoleHelp checks what each role says it runs.
func TestServeRoleHelp(t *testing.T) {
	t.Parallel()
	b := startServeRaw(t, "--role", "broker", "--broker-addr", "127.0.0.1:0", "--auto-approve", "50ms")
	out := strings.Join(readHelp(t, b), "\n")
	addr := strings.Fields(strings.SplitN(out, " on ", 2)[1])[0]
	for _, want := range []string{
		"jitbench serve --role broker: access broker jit.v1.Broker on " + addr + " (plaintext), no Vault",
		"approval:    every request is approved by policy after 50ms",
		"heartbeat:   the revocation feed carries a heartbeat every 5s (--heartbeat-interval)",
		"jitbench serve --role vault --broker-target " + addr,
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "export GRANT", "no Vault, no example tokens")

	v := startServeRaw(t, "--role", "vault", "--addr", "127.0.0.1:0", "--broker-target", addr)
	out = strings.Join(readHelp(t, v), "\n")
	for _, want := range []string{
		"jitbench serve --role vault: reference JIT service on 127.0.0.1:",
		"broker:      the Vault trusts the broker at " + addr + " for grant keys and revocations (--broker-target)",
		"export GRANT=",
		"jitbench access request --broker " + addr,
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "policy:", "the Vault does not know the broker's policy")

	// --role all: the heartbeat follows the Vault's staleness bound.
	a := startServe(t, "--addr", "127.0.0.1:0", "--max-staleness", "3s")
	assert.Contains(t, strings.Join(readHelp(t, a), "\n"), "heartbeat:   the revocation feed carries a heartbeat every 1s")
}

// TestServeRoleUsage: a bad role, or a flag of the part a role does not
// run, is one line naming the flag, exit 2.
func TestServeRoleUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown role", []string{"--role", "proxy"}, `--role: want all, broker or vault, got "proxy"`},
		{"broker flag on the vault", []string{"--role", "vault", "--data-dir", t.TempDir()}, "--data-dir configures the broker, which --role vault does not run"},
		{"vault flag on the broker", []string{"--role", "broker", "--tls"}, "--tls configures the vault, which --role broker does not run"},
		{"staleness on the broker", []string{"--role", "broker", "--max-staleness", "2s"}, "--max-staleness configures the vault"},
		{"broker target with its own broker", []string{"--broker-target", "broker:7444"}, "--broker-target names the broker a lone Vault trusts"},
		{"broker target without a port", []string{"--role", "vault", "--broker-target", "broker"}, `--broker-target: want host:port, got "broker"`},
		{"negative heartbeat", []string{"--heartbeat-interval", "-1s"}, "--heartbeat-interval must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", append([]string{"serve"}, tt.args...)...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Empty(t, r.stdout)
		})
	}
}
