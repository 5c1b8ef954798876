package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
)

// waitFor bounds every wait on the serve command: startup, a line, shutdown.
const waitFor = 10 * time.Second

// serveProc is a long-running command ('jitbench serve', 'jitbench proxy') running in-process in a goroutine.
type serveProc struct {
	cancel context.CancelFunc
	lines  chan string // stdout, line by line; closed when serve exits
	exited chan struct{}
	code   int
	stderr *lockedBuffer
}

// startServe runs 'jitbench serve args...' until stop (or the test's end).
// The broker listens on a free port unless args say otherwise, so tests
// in parallel never race for the default one.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	return startServeRaw(t, append([]string{"--broker-addr", "127.0.0.1:0"}, args...)...)
}

// startServeRaw runs 'jitbench serve args...' with no flag added.
func startServeRaw(t *testing.T, args ...string) *serveProc {
	t.Helper()
	return startCommand(t, append([]string{"serve"}, args...)...)
}

// startCommand runs a long-running command ('jitbench serve', 'jitbench
// proxy') in-process until the test ends, its stdout read line by line.
func startCommand(t *testing.T, args ...string) *serveProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &serveProc{cancel: cancel, lines: make(chan string, 256), exited: make(chan struct{}), stderr: &lockedBuffer{}}
	go func() {
		defer close(p.exited)
		p.code = run(ctx, args, strings.NewReader(""), pw, p.stderr)
		_ = pw.Close()
	}()
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// line returns the next line serve printed.
func (p *serveProc) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		require.True(t, ok, "the command exited early: stderr %q", p.stderr.String())
		return l
	case <-time.After(waitFor):
		require.FailNow(t, "the command printed nothing in time", "stderr %q", p.stderr.String())
	}
	return ""
}

// stop cancels serve's context and returns its exit code and how long it took to exit.
func (p *serveProc) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	p.cancel()
	select {
	case <-p.exited:
	case <-time.After(waitFor):
		require.FailNow(t, "the command did not stop after its context was cancelled")
	}
	return p.code, time.Since(start)
}

// servedJSON is the documented contract of 'serve --json'.
type servedJSON struct {
	Role        string   `json:"role"`
	Addr        string   `json:"addr"`
	BrokerAddr  string   `json:"broker_addr"`
	MetricsAddr string   `json:"metrics_addr"`
	TLS         bool     `json:"tls"`
	TLSDir      string   `json:"tls_dir"`
	Subject     string   `json:"subject"`
	Identity    string   `json:"identity"`
	Grant       string   `json:"grant"`
	Protected   []string `json:"protected"`
}

func (p *serveProc) info(t *testing.T) servedJSON {
	t.Helper()
	var info servedJSON
	l := p.line(t)
	require.NoError(t, json.Unmarshal([]byte(l), &info), "first line of serve --json: %q", l)
	require.NotEmpty(t, info.Addr)
	require.NotEmpty(t, info.BrokerAddr)
	require.NotEmpty(t, info.Identity)
	require.NotEmpty(t, info.Grant)
	return info
}

func dial(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// read calls demo.v1.Vault/Read with header key, value pairs as metadata.
func read(t *testing.T, conn *grpc.ClientConn, path string, headers ...string) (*demov1.ReadResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, headers...)
	return demov1.NewVaultClient(conn).Read(ctx, &demov1.ReadRequest{Path: path})
}

// tamper changes the first character of a JWT's signature.
func tamper(jwt string) string {
	i := strings.LastIndexByte(jwt, '.') + 1
	c := byte('A')
	if jwt[i] == 'A' {
		c = 'B'
	}
	return jwt[:i] + string(c) + jwt[i+1:]
}

func bearer(id string) string { return "Bearer " + id }

// call is one Read and the outcome it must have.
type call struct {
	name    string
	path    string
	headers []string
	code    codes.Code
	reason  reason.Reason
}

func checkCalls(t *testing.T, conn *grpc.ClientConn, calls []call) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			resp, err := read(t, conn, c.path, c.headers...)
			d := reason.FromError(err)
			assert.Equal(t, c.code, d.Code, "err: %v", err)
			assert.Equal(t, c.reason, d.Reason, "err: %v", err)
			if c.code == codes.OK {
				require.NoError(t, err)
				assert.Equal(t, c.path, resp.GetPath())
				assert.NotEmpty(t, resp.GetValue())
				return
			}
			assert.Nil(t, resp)
			if d.Code == codes.PermissionDenied {
				assert.Contains(t, d.Metadata["request_access"], "jitbench access request", "grant denials say where to get access")
			}
		})
	}
}

func TestServeJSON(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--json", "--sub", "alice")
	info := p.info(t)
	assert.False(t, info.TLS)
	assert.Empty(t, info.TLSDir)
	assert.Equal(t, "alice", info.Subject)
	assert.Equal(t, []string{"/demo.v1.Vault/Read", "/demo.v1.Vault/Write", "/demo.v1.Vault/List"}, info.Protected)
	assert.Regexp(t, `^127\.0\.0\.1:[1-9]\d*$`, info.Addr, "port 0 is replaced by the port picked")
	assert.Regexp(t, `^127\.0\.0\.1:[1-9]\d*$`, info.BrokerAddr)
	assert.NotEqual(t, info.Addr, info.BrokerAddr)
	assert.Empty(t, info.MetricsAddr, "metrics are off by default")

	conn := dial(t, info.Addr, insecure.NewCredentials())
	id, grant := bearer(info.Identity), info.Grant
	checkCalls(t, conn, []call{
		{"allowed", "secrets/db/password", []string{"authorization", id, "x-jit-grant", grant}, codes.OK, ""},
		{"tampered grant", "secrets/db/password", []string{"authorization", id, "x-jit-grant", tamper(grant)}, codes.PermissionDenied, reason.GrantBadSignature},
		{"no identity", "secrets/db/password", []string{"x-jit-grant", grant}, codes.Unauthenticated, reason.IdentityMissing},
		{"tampered identity", "secrets/db/password", []string{"authorization", bearer(tamper(info.Identity)), "x-jit-grant", grant}, codes.Unauthenticated, reason.IdentityInvalid},
		{"no grant", "secrets/db/password", []string{"authorization", id}, codes.PermissionDenied, reason.GrantMissing},
		{"outside the resource scope", "public/motd", []string{"authorization", id, "x-jit-grant", grant}, codes.PermissionDenied, reason.GrantScopeMismatch},
		{"identity sent as the grant", "secrets/db/password", []string{"authorization", id, "x-jit-grant", info.Identity}, codes.PermissionDenied, reason.GrantWrongType},
	})

	t.Run("health needs no credentials", func(t *testing.T) {
		for _, service := range []string{"", "demo.v1.Vault"} {
			ctx, cancel := context.WithTimeout(t.Context(), waitFor)
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
			cancel()
			require.NoError(t, err)
			assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus(), "service %q", service)
		}
	})

	t.Run("grant from token mint works against serve", func(t *testing.T) {
		// The line serve's help suggests: development keys agree across processes.
		write := mint(t, "--sub", "alice", "--scope", "/demo.v1.Vault/Write", "--resource", "secrets/*")
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", id, "x-jit-grant", write)
		resp, err := demov1.NewVaultClient(conn).Write(ctx, &demov1.WriteRequest{Path: "secrets/new", Value: []byte("v")})
		require.NoError(t, err)
		assert.Equal(t, int64(1), resp.GetVersion())

		// The printed grant covers Read and List only.
		ctx = metadata.AppendToOutgoingContext(t.Context(), "authorization", id, "x-jit-grant", grant)
		_, err = demov1.NewVaultClient(conn).Write(ctx, &demov1.WriteRequest{Path: "secrets/new", Value: []byte("v")})
		assert.Equal(t, reason.GrantScopeMismatch, reason.Of(err))

		// Minted for someone else: the grant is bound to its subject.
		bob := mint(t, "--sub", "bob", "--scope", "/demo.v1.Vault/Read")
		_, err = read(t, conn, "secrets/db/password", "authorization", id, "x-jit-grant", bob)
		d := reason.FromError(err)
		assert.Equal(t, reason.GrantSubjectMismatch, d.Reason)
		assert.Equal(t, "alice", d.Metadata["identity_subject"])
	})

	t.Run("List streams under the grant", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", id, "x-jit-grant", grant)
		stream, err := demov1.NewVaultClient(conn).List(ctx, &demov1.ListRequest{Prefix: "secrets/"})
		require.NoError(t, err)
		var paths []string
		for {
			m, err := stream.Recv()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			paths = append(paths, m.GetPath())
		}
		assert.Contains(t, paths, "secrets/db/password")
		assert.NotContains(t, paths, "public/motd")
	})

	require.NoError(t, conn.Close())
	code, took := p.stop(t)
	assert.Equal(t, exitOK, code, "stderr %q", p.stderr.String())
	// The cut-off makes a stop take at least shutdownGrace: below it, the
	// graceful stop finished by itself (a fixed 3 s margin failed on a
	// loaded machine while meaning the same thing).
	assert.Less(t, took, shutdownGrace, "graceful stop, not the cut-off")
	assert.Empty(t, p.stderr.String())
	for l := range p.lines {
		t.Errorf("serve --json printed more than one line: %q", l)
	}
}

func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "dev-tls") // created by serve
	p := startServe(t, "--addr", "127.0.0.1:0", "--json", "--tls", "--tls-dir", dir)
	info := p.info(t)
	assert.True(t, info.TLS)
	assert.Equal(t, dir, info.TLSDir)
	for _, f := range []string{"ca.crt", "server.crt", "server.key", "client.crt", "client.key"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	st, err := os.Stat(filepath.Join(dir, "client.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	client, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(client.Certificate[0])
	require.NoError(t, err)
	assert.Equal(t, "alice", leaf.Subject.CommonName)

	tlsConn := dial(t, info.Addr, credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	mtlsConn := dial(t, info.Addr, credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{client}, MinVersion: tls.VersionTLS12}))

	t.Run("mTLS", func(t *testing.T) {
		checkCalls(t, mtlsConn, []call{
			{"certificate and grant only", "secrets/db/password", []string{"x-jit-grant", info.Grant}, codes.OK, ""},
			{"certificate without grant", "secrets/db/password", nil, codes.PermissionDenied, reason.GrantMissing},
		})
		// The certificate's identity is alice: a grant for bob names her as the caller.
		bob := mint(t, "--sub", "bob", "--scope", "/demo.v1.Vault/Read")
		_, err := read(t, mtlsConn, "secrets/db/password", "x-jit-grant", bob)
		d := reason.FromError(err)
		assert.Equal(t, reason.GrantSubjectMismatch, d.Reason, "err: %v", err)
		assert.Equal(t, "alice", d.Metadata["identity_subject"])
	})
	t.Run("bearer over TLS", func(t *testing.T) {
		checkCalls(t, tlsConn, []call{
			{"identity and grant", "secrets/db/password", []string{"authorization", bearer(info.Identity), "x-jit-grant", info.Grant}, codes.OK, ""},
			{"no identity and no certificate", "secrets/db/password", []string{"x-jit-grant", info.Grant}, codes.Unauthenticated, reason.IdentityMissing},
			{"tampered grant", "secrets/db/password", []string{"authorization", bearer(info.Identity), "x-jit-grant", tamper(info.Grant)}, codes.PermissionDenied, reason.GrantBadSignature},
		})
	})
	t.Run("plaintext client is refused", func(t *testing.T) {
		plain := dial(t, info.Addr, insecure.NewCredentials())
		_, err := read(t, plain, "secrets/db/password", "authorization", bearer(info.Identity), "x-jit-grant", info.Grant)
		assert.Equal(t, codes.Unavailable, reason.FromError(err).Code, "err: %v", err)
	})

	require.NoError(t, tlsConn.Close())
	require.NoError(t, mtlsConn.Close())
	code, took := p.stop(t)
	assert.Equal(t, exitOK, code, "stderr %q", p.stderr.String())
	assert.Less(t, took, shutdownGrace, "graceful stop, not the cut-off")
}

var (
	servingOn   = regexp.MustCompile(`^jitbench serve: reference JIT service on (\S+) \((plaintext|TLS, client certificates accepted as identities)\)$`)
	exportID    = regexp.MustCompile(`^  export ID='([A-Za-z0-9_.-]+)'$`)
	exportGrant = regexp.MustCompile(`^  export GRANT='([A-Za-z0-9_.-]+)'$`)
	grpcurlRead = regexp.MustCompile(`^  grpcurl (-plaintext|-cacert (\S+)) -H "authorization: Bearer \$ID" -H "x-jit-grant: (\$GRANT|\$\{GRANT%\?{10}\}A{10})" -d '\{"path":"([^"]+)"\}' (\S+) demo\.v1\.Vault/Read(\s+# (\w+).*)?$`)
	grpcurlMTLS = regexp.MustCompile(`^  grpcurl -cacert (\S+) -cert (\S+) -key (\S+) -H "x-jit-grant: \$GRANT" -d '\{"path":"([^"]+)"\}' (\S+) demo\.v1\.Vault/Read$`)
)

// TestServeHumanOutput reads the tokens and grpcurl lines serve prints for
// people and checks that they do what they say.
func TestServeHumanOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tls  bool
	}{
		{"plaintext", false},
		{"tls", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--addr", "127.0.0.1:0"}
			if tt.tls {
				args = append(args, "--tls", "--tls-dir", filepath.Join(t.TempDir(), "dev-tls"))
			}
			p := startServe(t, args...)
			var out []string
			for {
				l := p.line(t)
				out = append(out, l)
				if l == "Serving; Ctrl-C stops." {
					break
				}
			}

			m := servingOn.FindStringSubmatch(out[0])
			require.NotNil(t, m, "first line: %q", out[0])
			addr := m[1]
			assert.Equal(t, tt.tls, m[2] != "plaintext")

			var id, grant, cacert string
			type printed struct{ path, grant, comment string }
			var calls []printed
			var mtls []string
			for _, l := range out {
				if m := exportID.FindStringSubmatch(l); m != nil {
					id = m[1]
				}
				if m := exportGrant.FindStringSubmatch(l); m != nil {
					grant = m[1]
				}
				if m := grpcurlRead.FindStringSubmatch(l); m != nil {
					assert.Equal(t, addr, m[5], l)
					if tt.tls {
						assert.NotEmpty(t, m[2], "TLS lines use -cacert: %s", l)
						cacert = m[2]
					} else {
						assert.Equal(t, "-plaintext", m[1], l)
					}
					calls = append(calls, printed{path: m[4], grant: m[3], comment: m[7]})
				}
				if m := grpcurlMTLS.FindStringSubmatch(l); m != nil {
					assert.Equal(t, addr, m[5], l)
					mtls = m[1:4]
				}
			}
			require.NotEmpty(t, id, "export ID line:\n%s", strings.Join(out, "\n"))
			require.NotEmpty(t, grant, "export GRANT line")
			require.Len(t, calls, 3, "one allowed and two refused grpcurl lines:\n%s", strings.Join(out, "\n"))

			creds := insecure.NewCredentials()
			if tt.tls {
				creds = credentials.NewTLS(&tls.Config{RootCAs: poolFrom(t, cacert), MinVersion: tls.VersionTLS12})
			}
			conn := dial(t, addr, creds)
			for _, c := range calls {
				g := grant
				if c.grant != "$GRANT" {
					g = grant[:len(grant)-10] + strings.Repeat("A", 10) // ${GRANT%??????????}AAAAAAAAAA
				}
				_, err := read(t, conn, c.path, "authorization", bearer(id), "x-jit-grant", g)
				d := reason.FromError(err)
				if c.comment == "" {
					assert.NoError(t, err, "allowed call to %s", c.path)
					continue
				}
				assert.Equal(t, codes.PermissionDenied, d.Code, "%s: %v", c.path, err)
				assert.Equal(t, reason.Reason(c.comment), d.Reason, "the line's comment names the reason")
			}

			if tt.tls {
				require.Len(t, mtls, 3, "an mTLS grpcurl line")
				assert.Equal(t, cacert, mtls[0])
				client, err := tls.LoadX509KeyPair(mtls[1], mtls[2])
				require.NoError(t, err)
				mconn := dial(t, addr, credentials.NewTLS(&tls.Config{RootCAs: poolFrom(t, mtls[0]), Certificates: []tls.Certificate{client}, MinVersion: tls.VersionTLS12}))
				_, err = read(t, mconn, "secrets/db/password", "x-jit-grant", grant)
				assert.NoError(t, err)
				require.NoError(t, mconn.Close())
			} else {
				assert.Nil(t, mtls, "no mTLS line without --tls")
			}

			require.NoError(t, conn.Close())
			code, took := p.stop(t)
			assert.Equal(t, exitOK, code, "stderr %q", p.stderr.String())
			assert.Less(t, took, shutdownGrace, "graceful stop, not the cut-off")
			assert.Equal(t, "stopped", p.line(t))
		})
	}
}

func poolFrom(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(caFile)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	require.NotNil(t, block, "%s holds a PEM certificate", caFile)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(b))
	return pool
}

// Cancelling before serve starts listening must not leave it running.
func TestServeCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--broker-addr", "127.0.0.1:0", "--json"}, strings.NewReader(""), &stdout, &stderr)
	}()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(waitFor):
		t.Fatal("serve with a cancelled context did not return")
	}
}

// TestServeMetrics: --metrics-addr serves the broker's Prometheus metrics at /metrics.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	p := startServe(t, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--json")
	info := p.info(t)
	require.Regexp(t, `^127\.0\.0\.1:[1-9]\d*$`, info.MetricsAddr)
	requestJSON(t, info.BrokerAddr)
	r := access(t, info.BrokerAddr, "approve", with(asAlice, requestJSON(t, info.BrokerAddr).GetId())...)
	require.Equal(t, exitFailed, r.code, "a self-approval, counted as a denial")

	scrape := func(path string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+info.MetricsAddr+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := scrape("/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `jit_broker_requests_total{state="PENDING"} 2`)
	assert.Contains(t, body, `jit_broker_requests{state="PENDING"} 2`)
	assert.Contains(t, body, `jit_broker_denials_total{reason="SELF_APPROVAL"} 1`)
	code, _ = scrape("/")
	assert.Equal(t, http.StatusNotFound, code, "only /metrics is served")

	stopped, _ := p.stop(t)
	require.Equal(t, exitOK, stopped, p.stderr.String())
}

// TestServeHumanSummary checks the lines that say what runs: where the state
// lives, the policy, approval, revocations and metrics.
func TestServeHumanSummary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := writeFile(t, filepath.Join(dir, "policy.yaml"), "rules:\n  - name: r\n    match: {service: demo.v1.Vault, methods: [/demo.v1.Vault/*]}\n    approvers: [security]\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"defaults", nil, []string{
			"state in memory: lost when serve stops (--data-dir DIR keeps it)",
			"policy:      built in: any demo.v1.Vault method, 1 approval from group security, grants up to 1h, requests pending up to 15m",
			"approval:    requests wait for a reviewer",
			"revocations: the Vault follows the broker's feed; strict when it is older than 15s",
			"metrics:     off",
		}},
		{"everything set", []string{"--data-dir", filepath.Join(dir, "state"), "--policy", pol, "--auto-approve", "50ms",
			"--revocation-mode", "best_effort", "--max-staleness", "3s", "--metrics-addr", "127.0.0.1:0"}, []string{
			"state in " + filepath.Join(dir, "state") + ": survives restarts",
			"policy:      " + pol + " (rules, first match applies: r)",
			"approval:    every request is approved by policy after 50ms (--auto-approve)",
			"revocations: the Vault follows the broker's feed; best_effort when it is older than 3s",
			"metrics:     http://127.0.0.1:",
			"Audit log, once serve stopped:   jitbench audit export --data-dir " + filepath.Join(dir, "state"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startServe(t, append([]string{"--addr", "127.0.0.1:0"}, tt.args...)...)
			out := strings.Join(readHelp(t, p), "\n")
			for _, w := range tt.want {
				assert.Contains(t, out, w)
			}
		})
	}
}
