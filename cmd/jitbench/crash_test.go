package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// The crash test's load: crashWorkers clients request access until
// crashAcks acknowledgements (approvals seen, revocations answered) or
// crashLoad has passed, whichever comes first; then the broker is killed.
const (
	crashWorkers = 8
	crashAcks    = 300
	crashLoad    = 10 * time.Second
	// crashRevokeEvery: every third approved request is revoked.
	crashRevokeEvery = 3
)

// TestCrashKeepsAcknowledged runs 'jitbench serve --data-dir' as a real
// process, kills it (SIGKILL) under load, restarts it on the same directory
// and checks that nothing it acknowledged was lost: every request it
// answered exists, every approval kept its grant id, every revocation is
// still in force and in the revocation feed, and the audit log, exported
// after a clean stop, records each of them.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds jitbench and kills it under load; skipped with -short")
	}
	t.Parallel()
	bin := buildJitbench(t)
	dir := filepath.Join(t.TempDir(), "state")
	serveArgs := []string{"serve", "--addr", "127.0.0.1:0", "--broker-addr", "127.0.0.1:0", "--data-dir", dir, "--auto-approve", "1ms", "--json"}

	first := startChild(t, bin, serveArgs...)
	l := newLedger()
	l.load(t, first, brokerFor(t, first.info.BrokerAddr, "alice"))
	t.Logf("acknowledged before the kill: %d requests, %d approvals, %d revocations", len(l.requested), len(l.approved), len(l.revoked))
	require.NotEmpty(t, l.approved, "no approval was acknowledged before the kill: the test proved nothing")
	require.NotEmpty(t, l.revoked, "no revocation was acknowledged before the kill: the test proved nothing")

	second := startChild(t, bin, serveArgs...)
	alice := brokerFor(t, second.info.BrokerAddr, "alice")
	t.Run("acknowledged requests survive", func(t *testing.T) { l.checkRequests(t, alice) })
	t.Run("acknowledged revocations are in the feed", func(t *testing.T) {
		feed := revocationFeed(t, second.info.BrokerAddr)
		for id, gid := range l.revoked {
			assert.True(t, feed[gid], "request %s: revoked grant %s missing from the replayed feed", id, gid)
		}
	})
	t.Run("the restarted Vault refuses revoked grants", func(t *testing.T) { l.checkVault(t, alice, second.info.Addr) })

	code := second.terminate(t)
	require.Equal(t, exitOK, code, "serve after SIGTERM; stderr: %s", second.stderr.String())

	t.Run("the audit log records every acknowledged transition", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "audit", "export", "--data-dir", dir).Output()
		require.NoError(t, err)
		approvedAt, issued, revoked := map[string]bool{}, map[string]string{}, map[string]string{}
		for _, rec := range parseAudit(t, string(out)) {
			switch rec.Action {
			case "approved":
				approvedAt[rec.RequestID] = true
				assert.Equal(t, broker.ActorPolicy, rec.Actor, "auto-approved")
			case "grant_issued":
				issued[rec.RequestID] = rec.GrantID
			case "revoked":
				revoked[rec.RequestID] = rec.GrantID
			}
		}
		for id, gid := range l.approved {
			assert.True(t, approvedAt[id], "request %s: no approved record", id)
			assert.Equal(t, gid, issued[id], "request %s: grant_issued record", id)
		}
		for id, gid := range l.revoked {
			assert.Equal(t, gid, revoked[id], "request %s: revoked record", id)
		}
	})
}

// buildJitbench builds the CLI with the go on PATH, with -race when the
// tests run with it (go test has then compiled every dependency that way).
func buildJitbench(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("crash test: no go on PATH to build jitbench with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "jitbench")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, append(args, "./cmd/jitbench")...)
	cmd.Dir = filepath.Join("..", "..") // the module root; tests run in cmd/jitbench
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// child is 'jitbench serve --json' running as a process of its own.
type child struct {
	cmd    *exec.Cmd
	info   servedJSON
	stderr *lockedBuffer
	exited chan struct{}
}

// startChild starts bin with args and reads serve's JSON line; the process
// is killed at the test's end if it is still running.
func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	c := &child{cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	c.cmd.Stdout = pw
	c.cmd.Stderr = c.stderr
	err = c.cmd.Start()
	_ = pw.Close() // the child has its own copy
	if err != nil {
		_ = pr.Close()
		require.NoError(t, err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.kill()
		_ = pr.Close()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, pr) // never let a full pipe block the child
	}()
	select {
	case l, ok := <-lines:
		require.True(t, ok, "serve exited before its JSON line; stderr: %s", c.stderr.String())
		require.NoError(t, json.Unmarshal([]byte(l), &c.info), "serve --json printed %q", l)
	case <-time.After(waitFor):
		require.FailNow(t, "serve printed nothing in time", "stderr: %s", c.stderr.String())
	}
	return c
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// terminate sends SIGTERM and returns the exit code of the clean stop.
func (c *child) terminate(t *testing.T) int {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-c.exited:
	case <-time.After(waitFor):
		require.FailNow(t, "serve did not stop on SIGTERM")
	}
	return c.cmd.ProcessState.ExitCode()
}

// brokerFor returns a client of the broker at addr that sends an identity for subject.
func brokerFor(t *testing.T, addr, subject string) jitv1.BrokerClient {
	t.Helper()
	raw, err := token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil).Identity(
		token.IdentitySpec{Subject: subject, Audience: stack.BrokerAudience, TTL: time.Hour})
	require.NoError(t, err)
	creds := interceptor.NewCredentials(interceptor.ClientConfig{
		Identity: interceptor.StaticIdentity(raw), Policy: broker.ServerPolicy, Insecure: true})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return jitv1.NewBrokerClient(conn)
}

// ledger is what the broker acknowledged before it was killed.
type ledger struct {
	mu          sync.Mutex
	requested   map[string]bool   // RequestAccess answered
	approved    map[string]string // request id → grant id, APPROVED seen on Watch
	revokeTried map[string]bool   // Revoke sent, answered or not
	revoked     map[string]string // request id → grant id, Revoke answered
	acks        atomic.Int64
	killed      atomic.Bool
}

func newLedger() *ledger {
	return &ledger{requested: map[string]bool{}, approved: map[string]string{}, revokeTried: map[string]bool{}, revoked: map[string]string{}}
}

func (l *ledger) note(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn()
}

// load runs the workers against p until enough was acknowledged, then kills p mid-load.
func (l *ledger) load(t *testing.T, p *child, client jitv1.BrokerClient) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.work(ctx, client, w, func() { once.Do(func() { close(enough) }) }); err != nil && !l.killed.Load() {
				t.Errorf("worker %d, before the kill: %v", w, err)
				once.Do(func() { close(enough) })
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(crashLoad):
	}
	l.killed.Store(true)
	p.kill() // kill -9, with the workers still running
	cancel()
	wg.Wait()
}

// work is one client: request, watch until approved, revoke every third.
func (l *ledger) work(ctx context.Context, client jitv1.BrokerClient, w int, enough func()) error {
	for n := 0; ctx.Err() == nil; n++ {
		ar, err := client.RequestAccess(ctx, &jitv1.RequestAccessRequest{
			Scope:         &jitv1.Scope{Service: token.DevAudience, Methods: []string{"/demo.v1.Vault/Read"}, Resource: "secrets/*"},
			Justification: fmt.Sprintf("crash test worker %d request %d", w, n),
		})
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		id := ar.GetId()
		l.note(func() { l.requested[id] = true })
		approved, err := watchApproved(ctx, client, id)
		if err != nil {
			return fmt.Errorf("watch %s: %w", id, err)
		}
		gid := approved.GetGrantId()
		if gid == "" {
			return fmt.Errorf("request %s APPROVED without a grant id", id)
		}
		l.note(func() { l.approved[id] = gid })
		l.acks.Add(1)
		if n%crashRevokeEvery == 0 {
			l.note(func() { l.revokeTried[id] = true })
			r, err := client.Revoke(ctx, &jitv1.RevokeRequest{Id: id, Comment: "crash test"})
			if err != nil {
				return fmt.Errorf("revoke %s: %w", id, err)
			}
			if r.GetState() != jitv1.State_STATE_REVOKED || r.GetGrantId() != gid {
				return fmt.Errorf("revoke %s answered %s for grant %s, want REVOKED for %s", id, r.GetState(), r.GetGrantId(), gid)
			}
			l.note(func() { l.revoked[id] = gid })
			l.acks.Add(1)
		}
		if l.acks.Load() >= crashAcks {
			enough()
		}
	}
	return nil
}

// watchApproved follows request id until it is APPROVED.
func watchApproved(ctx context.Context, client jitv1.BrokerClient, id string) (*jitv1.AccessRequest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // APPROVED is not terminal: the stream would go on
	stream, err := client.Watch(ctx, &jitv1.WatchRequest{Id: id})
	if err != nil {
		return nil, err
	}
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the stream ended before an approval")
		}
		if err != nil {
			return nil, err
		}
		switch r.GetState() {
		case jitv1.State_STATE_APPROVED:
			return r, nil
		case jitv1.State_STATE_PENDING:
		default:
			return nil, fmt.Errorf("request %s went %s", id, r.GetState())
		}
	}
}

// checkRequests asks the restarted broker for every acknowledged request.
func (l *ledger) checkRequests(t *testing.T, alice jitv1.BrokerClient) {
	for id := range l.requested {
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		r, err := alice.GetRequest(ctx, &jitv1.GetRequestRequest{Id: id})
		cancel()
		if !assert.NoError(t, err, "acknowledged request %s lost", id) {
			continue
		}
		gid, approved := l.approved[id]
		if !approved {
			continue // acknowledged as PENDING: any state it reached since is fine
		}
		assert.Equal(t, gid, r.GetGrantId(), "request %s changed its grant", id)
		allowed := []jitv1.State{jitv1.State_STATE_APPROVED, jitv1.State_STATE_ENDED}
		switch {
		case l.revoked[id] != "":
			allowed = []jitv1.State{jitv1.State_STATE_REVOKED} // a revoked grant never comes back
		case l.revokeTried[id]:
			allowed = append(allowed, jitv1.State_STATE_REVOKED) // sent, unanswered: either way
		}
		assert.Contains(t, allowed, r.GetState(), "request %s", id)
	}
}

// revocationFeed replays the restarted broker's revocation feed from the
// start (up to its first heartbeat) and returns the grant ids in it.
func revocationFeed(t *testing.T, addr string) map[string]bool {
	t.Helper()
	conn := dial(t, addr, insecure.NewCredentials()) // the feed is open: verifiers call it without an identity
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	stream, err := jitv1.NewBrokerClient(conn).WatchRevocations(ctx, &jitv1.WatchRevocationsRequest{AfterSequence: 0})
	require.NoError(t, err)
	seen := map[string]bool{}
	var last uint64
	for {
		ev, err := stream.Recv()
		require.NoError(t, err)
		if ev.GetHeartbeat() {
			assert.Equal(t, last, ev.GetSequence(), "the heartbeat after the replay names its last sequence")
			return seen
		}
		assert.Greater(t, ev.GetSequence(), last, "sequences increase")
		last = ev.GetSequence()
		seen[ev.GetGrantId()] = true
	}
}

// checkVault calls the restarted Vault with one revoked and one live grant.
func (l *ledger) checkVault(t *testing.T, alice jitv1.BrokerClient, addr string) {
	grantOf := func(id string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		defer cancel()
		r, err := alice.GetRequest(ctx, &jitv1.GetRequestRequest{Id: id})
		require.NoError(t, err)
		require.NotEmpty(t, r.GetGrant(), "request %s: the requester gets the grant", id)
		return r.GetGrant()
	}
	var revokedID, liveID string
	for id := range l.revoked {
		revokedID = id
		break
	}
	for id := range l.approved {
		if !l.revokeTried[id] {
			liveID = id
			break
		}
	}
	conn := dial(t, addr, insecure.NewCredentials())
	id := bearer(mint(t, "--kind", "identity", "--sub", "alice"))
	_, err := read(t, conn, "secrets/db/password", "authorization", id, "x-jit-grant", grantOf(revokedID))
	assert.Equal(t, reason.GrantRevoked, reason.Of(err), "err: %v", err)
	if liveID != "" {
		_, err = read(t, conn, "secrets/db/password", "authorization", id, "x-jit-grant", grantOf(liveID))
		assert.NoError(t, err)
	}
}
