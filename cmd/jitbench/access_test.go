package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
)

// Who the access tests act as: alice requests, carol (security) reviews,
// bob is in no approver group.
var (
	asAlice = []string{"--as", "alice"}
	asCarol = []string{"--as", "carol", "--group", "security"}
	asBob   = []string{"--as", "bob", "--group", "developers"}
)

// access runs 'jitbench access VERB --broker ADDR args...' in-process.
func access(t *testing.T, broker, verb string, args ...string) result {
	t.Helper()
	return runCLI(t, "", append([]string{"access", verb, "--broker", broker}, args...)...)
}

// with joins flag groups: with(asCarol, "--state", "pending").
func with(who []string, args ...string) []string { return append(append([]string{}, who...), args...) }

// requestJSON opens a request for Read on secrets/* as alice and returns it.
func requestJSON(t *testing.T, broker string, extra ...string) *jitv1.AccessRequest {
	t.Helper()
	r := access(t, broker, "request", with(asAlice, append([]string{"--scope", "Read", "--resource", "secrets/*", "--json"}, extra...)...)...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	return parseRequest(t, r.stdout)
}

func parseRequest(t *testing.T, out string) *jitv1.AccessRequest {
	t.Helper()
	var ar jitv1.AccessRequest
	require.Equal(t, 1, strings.Count(out, "\n"), "one JSON line: %q", out)
	require.NoError(t, protojson.Unmarshal([]byte(out), &ar), "output: %q", out)
	return &ar
}

// TestAccessFlow walks the JIT flow through the CLI against serve: alice
// requests, carol sees and approves it, alice's grant works on the Vault
// until carol revokes it.
func TestAccessFlow(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--json")
	info := p.info(t)
	b := info.BrokerAddr

	// alice asks; the request waits for a reviewer.
	r := access(t, b, "request", with(asAlice, "--scope", "Read", "--resource", "secrets/*", "--justification", "rotate the db password")...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	require.Regexp(t, `^request [0-9a-f]+ PENDING\n`, r.stdout)
	id := strings.Fields(r.stdout)[1]
	assert.Contains(t, r.stdout, "demo.v1.Vault Read on secrets/*")
	assert.Contains(t, r.stdout, "rotate the db password")

	// carol sees it in the pending list; bob, who may not review it, does not.
	r = access(t, b, "list", with(asCarol, "--state", "pending")...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, "a header and alice's request:\n%s", r.stdout)
	assert.Equal(t, []string{"ID", "REQUESTER", "STATE", "SCOPE", "AGE", "REVIEWS"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{id, "alice", "PENDING", "demo.v1.Vault", "Read", "on", "secrets/*"}, strings.Fields(lines[1])[:7])
	assert.Equal(t, "0/1", strings.Fields(lines[1])[8])
	r = access(t, b, "list", asBob...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, "no access requests match\n", r.stdout)

	// Before approval there is no grant to print.
	r = access(t, b, "show", with(asAlice, id, "--grant-only")...)
	assert.Equal(t, exitFailed, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "PENDING")

	r = access(t, b, "approve", with(asCarol, id, "--comment", "on call")...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Regexp(t, `^request `+id+` APPROVED\n`, r.stdout)
	assert.Contains(t, r.stdout, "carol APPROVE")
	assert.NotContains(t, r.stdout, "export GRANT", "the grant goes only to its requester")

	r = access(t, b, "show", with(asAlice, id, "--grant-only")...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	grant := strings.TrimSpace(r.stdout)
	require.Len(t, strings.Split(grant, "."), 3, "a JWT: %q", grant)
	r = access(t, b, "show", with(asCarol, id, "--grant-only")...)
	assert.Equal(t, exitFailed, r.code, "a reviewer sees the grant's id, never the grant")
	assert.Contains(t, r.stderr, "goes only to its requester alice")

	// A real call with the grant the broker signed.
	conn := dial(t, info.Addr, insecure.NewCredentials())
	vault := []string{"authorization", bearer(info.Identity), "x-jit-grant", grant}
	resp, err := read(t, conn, "secrets/db/password", vault...)
	require.NoError(t, err)
	assert.NotEmpty(t, resp.GetValue())
	_, err = read(t, conn, "public/motd", vault...)
	assert.Equal(t, reason.GrantScopeMismatch, reason.Of(err), "the grant covers secrets/* only")

	r = access(t, b, "revoke", with(asCarol, id, "--comment", "done")...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Regexp(t, `^request `+id+` REVOKED\n`, r.stdout)
	// The revocation reaches the Vault over the broker's feed.
	require.Eventually(t, func() bool {
		_, err := read(t, conn, "secrets/db/password", vault...)
		return reason.Of(err) == reason.GrantRevoked
	}, waitFor, 5*time.Millisecond, "the Vault never refused the revoked grant")
	_, err = read(t, conn, "secrets/db/password", vault...)
	d := reason.FromError(err)
	assert.Equal(t, codes.PermissionDenied, d.Code)
	assert.Equal(t, reason.GrantRevoked, d.Reason)

	r = access(t, b, "show", with(asAlice, id, "--grant-only")...)
	assert.Equal(t, exitFailed, r.code, "a revoked grant is not printed")
	assert.Contains(t, r.stderr, "REVOKED")
}

// TestAccessRefusals checks that every refusal exits 1 with one line naming
// the status code and the reason.
func TestAccessRefusals(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--json")
	b := p.info(t).BrokerAddr
	pending := requestJSON(t, b).GetId()
	decided := requestJSON(t, b).GetId()
	require.Equal(t, exitOK, access(t, b, "approve", with(asCarol, decided)...).code)

	// A port nothing listens on: taken, then released.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := lis.Addr().String()
	require.NoError(t, lis.Close())

	tests := []struct {
		name   string
		broker string
		verb   string
		args   []string
		want   []string // substrings of the one stderr line
	}{
		{"self-approval", b, "approve", with(asAlice, pending), []string{"PERMISSION_DENIED SELF_APPROVAL", pending}},
		{"self-approval even in an approver group", b, "approve", with([]string{"--as", "alice", "--group", "security"}, pending), []string{"SELF_APPROVAL"}},
		{"approve by a non-approver", b, "approve", with(asBob, pending), []string{"PERMISSION_DENIED NOT_APPROVER", "bob", "policy=default"}},
		{"deny by a non-approver", b, "deny", with(asBob, pending), []string{"NOT_APPROVER"}},
		{"approve an unknown id", b, "approve", with(asCarol, "no-such-request"), []string{"NOT_FOUND", `"no-such-request"`}},
		{"show an unknown id", b, "show", with(asAlice, "no-such-request"), []string{"NOT_FOUND"}},
		{"watch an unknown id", b, "watch", with(asAlice, "no-such-request"), []string{"NOT_FOUND"}},
		{"revoke an unknown id", b, "revoke", with(asCarol, "no-such-request"), []string{"NOT_FOUND"}},
		{"a stranger cannot see a request", b, "show", with(asBob, pending), []string{"NOT_FOUND"}},
		{"approve twice", b, "approve", with(asCarol, decided), []string{"FAILED_PRECONDITION", "APPROVED"}},
		{"revoke a pending request", b, "revoke", with(asCarol, pending), []string{"FAILED_PRECONDITION", "PENDING"}},
		{"withdraw someone else's request", b, "withdraw", with(asCarol, pending), []string{"PERMISSION_DENIED", "only the requester alice"}},
		{"no policy for the scope", b, "request", with(asAlice, "--service", "other.v1.Svc", "--scope", "Get"), []string{"PERMISSION_DENIED NO_POLICY", "/other.v1.Svc/Get"}},
		{"duration over the policy's cap", b, "request", with(asAlice, "--scope", "Read", "--duration", "5h"), []string{"INVALID_ARGUMENT", "maximum grant duration"}},
		{"identity the broker does not trust", b, "list", []string{"--identity", mint(t, "--kind", "identity", "--sub", "alice")}, []string{"UNAUTHENTICATED IDENTITY_INVALID"}},
		{"broker down", down, "list", asAlice, []string{"broker at " + down + " is unavailable"}},
		{"broker down while requesting", down, "request", with(asAlice, "--scope", "Read", "--wait", "5s"), []string{"broker at " + down}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := access(t, tt.broker, tt.verb, tt.args...)
			assert.Equal(t, exitFailed, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.True(t, strings.HasPrefix(r.stderr, "jitbench: "), r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
		})
	}

	// The refusals changed nothing.
	r := access(t, b, "show", with(asAlice, pending, "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	got := parseRequest(t, r.stdout)
	assert.Equal(t, jitv1.State_STATE_PENDING, got.GetState())
	assert.Empty(t, got.GetReviews())
}

// TestAccessAutoApproveWait: with --auto-approve, request --wait --grant-only
// prints a grant that works at once.
func TestAccessAutoApproveWait(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--auto-approve", "10ms", "--json")
	info := p.info(t)
	r := access(t, info.BrokerAddr, "request", with(asAlice, "--scope", "Read", "--scope", "List", "--resource", "secrets/*",
		"--duration", "5m", "--wait", "5s", "--grant-only")...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Empty(t, r.stderr)
	grant := strings.TrimSpace(r.stdout)
	require.NotContains(t, grant, "\n", "only the grant: %q", r.stdout)

	conn := dial(t, info.Addr, insecure.NewCredentials())
	_, err := read(t, conn, "secrets/db/password", "authorization", bearer(info.Identity), "x-jit-grant", grant)
	require.NoError(t, err)

	// The same without --grant-only: the decision, then the grant as an export line.
	r = access(t, info.BrokerAddr, "request", with(asAlice, "--scope", "Read", "--resource", "secrets/*", "--wait", "5s")...)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, " APPROVED\n")
	assert.Contains(t, r.stdout, "by policy")
	assert.Contains(t, r.stdout, "  export GRANT='ey")
}

// TestAccessWaitEndsDenied: a request --wait exits 1 when a reviewer denies it meanwhile.
func TestAccessWaitEndsDenied(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--json")
	b := p.info(t).BrokerAddr
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), []string{"access", "request", "--broker", b, "--as", "alice", "--scope", "Write", "--wait", "10s", "--id-only"},
			strings.NewReader(""), &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Count(stdout.String(), "\n") == 1 }, waitFor, time.Millisecond, "no request id printed")
	id := strings.TrimSpace(stdout.String())
	r := access(t, b, "deny", with(asCarol, id, "--comment", "use staging")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `^request `+id+` DENIED\n`, r.stdout)

	select {
	case code := <-done:
		assert.Equal(t, exitFailed, code)
	case <-time.After(waitFor):
		t.Fatal("request --wait did not return after the denial")
	}
	assert.Equal(t, id+"\n", stdout.String())
	assert.Equal(t, "jitbench: PERMISSION_DENIED APPROVAL_DENIED: request "+id+" was denied by carol: use staging\n", stderr.String())
}

// TestAccessWaitEndsPending: --wait that ends before a decision exits 1 with APPROVAL_PENDING.
func TestAccessWaitEndsPending(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--json")
	b := p.info(t).BrokerAddr
	r := access(t, b, "request", with(asAlice, "--scope", "Read", "--wait", "50ms", "--grant-only")...)
	assert.Equal(t, exitFailed, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "DEADLINE_EXCEEDED APPROVAL_PENDING")
	assert.Contains(t, r.stderr, "jitbench access watch")
}

// TestAccessWatchAndWithdraw follows a request through watch while it is withdrawn.
func TestAccessWatchAndWithdraw(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--json")
	b := p.info(t).BrokerAddr
	id := requestJSON(t, b).GetId()

	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), []string{"access", "watch", "--broker", b, "--as", "carol", "--group", "security", "--json", id},
			strings.NewReader(""), &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "STATE_PENDING") }, waitFor, time.Millisecond)
	r := access(t, b, "withdraw", with(asAlice, id, "--comment", "not needed")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `^request `+id+` WITHDRAWN\n`, r.stdout)

	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(waitFor):
		t.Fatal("watch did not end at the terminal state")
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 2, "one JSON line per revision")
	var states []jitv1.State
	for _, l := range lines {
		states = append(states, parseRequest(t, l+"\n").GetState())
	}
	assert.Equal(t, []jitv1.State{jitv1.State_STATE_PENDING, jitv1.State_STATE_WITHDRAWN}, states)

	// Watching a request already over prints its last revision and ends.
	r = access(t, b, "watch", with(asAlice, id)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `^\d\d:\d\d:\d\d  rev 2  WITHDRAWN +by alice: not needed\n$`, r.stdout)
}

// TestAccessListFilters checks list's filters, its limit and its JSON.
func TestAccessListFilters(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--json")
	b := p.info(t).BrokerAddr
	ids := []string{requestJSON(t, b).GetId(), requestJSON(t, b).GetId(), requestJSON(t, b).GetId()}
	require.Equal(t, exitOK, access(t, b, "approve", with(asCarol, ids[0])...).code)
	r := access(t, b, "request", with([]string{"--as", "dave"}, "--scope", "List", "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	dave := parseRequest(t, r.stdout).GetId()

	list := func(args ...string) []string {
		t.Helper()
		r := access(t, b, "list", with(asCarol, append(args, "--json")...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		var resp jitv1.ListRequestsResponse
		require.NoError(t, protojson.Unmarshal([]byte(r.stdout), &resp))
		var got []string
		for _, ar := range resp.GetRequests() {
			got = append(got, ar.GetId())
		}
		return got
	}
	tests := []struct {
		name string
		args []string
		want []string // newest first
	}{
		{"all", nil, []string{dave, ids[2], ids[1], ids[0]}},
		{"pending", []string{"--state", "pending"}, []string{dave, ids[2], ids[1]}},
		{"approved, any case", []string{"--state", "APPROVED"}, []string{ids[0]}},
		{"by requester", []string{"--requester", "dave"}, []string{dave}},
		{"limit pages", []string{"--limit", "2"}, []string{dave, ids[2]}},
		{"denied: none", []string{"--state", "denied"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, list(tt.args...))
		})
	}
	r = access(t, b, "list", with(asCarol, "--limit", "1")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, dave)
	assert.Contains(t, r.stdout, "(the first 1; --limit 0 lists all)")
}
