package attack_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// storeFile is the broker's store in a data directory.
const storeFile = "broker.db"

// storeBroker is `jitbench serve --role broker --data-dir DIR` in this
// process, on bufconn, with a gRPC client and alice's identity.
type storeBroker struct {
	sys    *stack.System
	client jitv1.BrokerClient
	ctx    context.Context // carries alice's identity token
}

// storeStartBroker starts a broker on the data directory dir.
func storeStartBroker(t *testing.T, dir string) *storeBroker {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	sys, err := stack.StartBroker(stack.SystemConfig{DataDir: dir}, lis)
	require.NoError(t, err)
	t.Cleanup(sys.Stop)
	conn, err := grpc.NewClient("passthrough:///broker",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	idp := token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil)
	id, err := idp.Identity(token.IdentitySpec{Subject: "alice", Audience: stack.BrokerAudience, TTL: time.Hour})
	require.NoError(t, err)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+id)
	return &storeBroker{sys: sys, client: jitv1.NewBrokerClient(conn), ctx: ctx}
}

// request asks for read access, with justification why.
func (b *storeBroker) request(why string) (*jitv1.AccessRequest, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return b.client.RequestAccess(ctx, &jitv1.RequestAccessRequest{
		Scope:         &jitv1.Scope{Service: token.DevAudience, Methods: []string{demov1.Vault_Read_FullMethodName}},
		Justification: why,
	})
}

// storeMakeState runs a broker over gRPC to leave a data directory with
// real state: n requests, each audited, the broker stopped.
func storeMakeState(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	b := storeStartBroker(t, dir)
	for i := range n {
		_, err := b.request("INC-" + strings.Repeat("7", i%5+1) + "-" + string(rune('a'+i%26)))
		require.NoError(t, err)
	}
	b.sys.Stop()
	return dir
}

// storeCopy copies the data directory src into a new one.
func storeCopy(t *testing.T, src string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(src, storeFile))
	require.NoError(t, err)
	dst := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dst, storeFile), raw, 0o600))
	return dst
}

// storeZeroLeaf zeroes the first leaf page in use in the store of dir.
func storeZeroLeaf(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, storeFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	pageSize, leaf := db.Info().PageSize, -1
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		for id := 2; leaf < 0; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return errors.Join(err, errors.New("no leaf page"))
			}
			if info.Type == "leaf" {
				leaf = id
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(make([]byte, pageSize), int64(leaf*pageSize))
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// storeBuildCLI builds the jitbench binary into a temporary directory.
func storeBuildCLI(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "jitbench")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/jitbench/jitbench/cmd/jitbench").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// storeRun runs the jitbench binary and returns its exit code and output.
func storeRun(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a bound on a real process, not a wait
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		require.NoError(t, err)
	}
	return code, out.String(), errOut.String()
}

// storeOneLine checks that a refusal is one line of printable text: no
// stack trace, no raw bytes from the damaged file.
func storeOneLine(t *testing.T, stderr string) {
	t.Helper()
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	assert.True(t, strings.HasSuffix(stderr, "\n"), "%q", stderr)
	for _, c := range []byte(strings.TrimSuffix(stderr, "\n")) {
		if c < ' ' || c > '~' {
			assert.Failf(t, "not printable text", "%q", stderr)
			break
		}
	}
	assert.NotContains(t, stderr, "panic")
	assert.NotContains(t, stderr, "goroutine")
}

// TestAttack11CorruptStore: zeroed pages and edited records in broker.db
// made serve and audit export panic, start empty or export a changed log
// with exit 0. A damaged store is now refused with one line naming the
// file (exit 2), a changed audit record is named by `audit verify`
// (exit 1) and not exported, and damage met at run time fails the call,
// not the broker.
func TestAttack11CorruptStore(t *testing.T) {
	bin := storeBuildCLI(t)
	state := storeMakeState(t, 12)
	serve := func(dir string) (int, string, string) {
		return storeRun(t, bin, "serve", "--addr", "127.0.0.1:0", "--broker-addr", "127.0.0.1:0", "--data-dir", dir)
	}

	t.Run("serve refuses a zeroed page", func(t *testing.T) {
		dir := storeCopy(t, state)
		storeZeroLeaf(t, dir)
		code, stdout, stderr := serve(dir)
		assert.Equal(t, 2, code, stderr)
		assert.Empty(t, stdout)
		storeOneLine(t, stderr)
		assert.Contains(t, stderr, "jitbench: --data-dir: store: "+filepath.Join(dir, storeFile)+": corrupt data directory: ")

		code, stdout, stderr = storeRun(t, bin, "audit", "export", "--data-dir", dir)
		assert.Equal(t, 2, code, stderr)
		assert.Empty(t, stdout)
		storeOneLine(t, stderr)
		assert.Contains(t, stderr, filepath.Join(dir, storeFile))
	})

	t.Run("serve refuses an empty broker.db", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, storeFile), nil, 0o600))
		code, stdout, stderr := serve(dir)
		assert.Equal(t, 2, code, stderr)
		assert.Empty(t, stdout)
		storeOneLine(t, stderr)
		assert.Contains(t, stderr, filepath.Join(dir, storeFile)+": corrupt data directory: the file is empty (0 bytes)")
	})

	t.Run("audit verify names a changed record", func(t *testing.T) {
		dir := storeCopy(t, state)
		code, stdout, stderr := storeRun(t, bin, "audit", "verify", "--data-dir", dir)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, `^12 records, chain intact, head [0-9a-f]{64}\n$`, stdout)

		// The 7th request's justification, in every copy bbolt keeps.
		path := filepath.Join(dir, storeFile)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		needle := []byte(`"reason":"INC-77-g"`)
		require.True(t, bytes.Contains(raw, needle))
		require.NoError(t, os.WriteFile(path, bytes.ReplaceAll(raw, needle, []byte(`"reason":"INC-78-g"`)), 0o600))

		code, stdout, stderr = storeRun(t, bin, "audit", "verify", "--data-dir", dir)
		assert.Equal(t, 1, code, stderr)
		assert.Empty(t, stdout)
		storeOneLine(t, stderr)
		assert.Contains(t, stderr, "jitbench: audit verify: store: "+path+": corrupt data directory: audit hash chain broken at record 7: ")

		code, stdout, stderr = storeRun(t, bin, "audit", "export", "--data-dir", dir)
		assert.Equal(t, 1, code, stderr)
		assert.Empty(t, stdout, "a changed log is not exported")
		storeOneLine(t, stderr)
		assert.Contains(t, stderr, "at record 7")

		code, stdout, stderr = serve(dir)
		assert.Equal(t, 2, code, stderr)
		assert.Empty(t, stdout)
		storeOneLine(t, stderr)
		assert.Contains(t, stderr, "audit hash chain broken at record 7")
	})

	t.Run("damage at run time fails the call, not the broker", func(t *testing.T) {
		dir := storeCopy(t, state)
		b := storeStartBroker(t, dir)
		before, err := b.request("INC-1")
		require.NoError(t, err)

		// The file's pages are zeroed under the running broker.
		path := filepath.Join(dir, storeFile)
		info, err := os.Stat(path)
		require.NoError(t, err)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(make([]byte, info.Size()-8192), 8192)
		require.NoError(t, err)
		require.NoError(t, f.Close())

		_, err = b.request("INC-2")
		require.Error(t, err)
		assert.Contains(t, []codes.Code{codes.Internal, codes.Unavailable}, status.Code(err), "%v", err)

		// The broker is up: what it holds in memory is still served.
		got, err := b.client.GetRequest(b.ctx, &jitv1.GetRequestRequest{Id: before.GetId()})
		require.NoError(t, err)
		assert.Equal(t, before.GetId(), got.GetId())
	})
}
