package load_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/jitbench/jitbench/harness/load"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// startReference starts the reference system in process and dials its Vault.
func startReference(t *testing.T, autoApprove time.Duration) (*load.Reference, []*grpc.ClientConn) {
	t.Helper()
	ref, err := load.StartReference(t.Context(), stack.SystemConfig{AutoApprove: autoApprove})
	require.NoError(t, err)
	t.Cleanup(ref.Close)
	conns, err := load.Dial(t.Context(), load.InProcessTarget, load.DialOptions{Connections: 2, Dialer: ref.DialVault})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ref, conns
}

func TestReflection(t *testing.T) {
	_, conns := startReference(t, 0)
	r := load.Reflection(conns[0])

	s, err := r.Resolve(t.Context(), "demo.v1.Vault.Read")
	require.NoError(t, err)
	assert.Equal(t, "demo.v1.Vault.Read", string(s.Method.FullName()))
	raw, err := s.Request([]byte(`{"path": "secrets/db/password"}`))
	require.NoError(t, err)
	var req demov1.ReadRequest
	require.NoError(t, proto.Unmarshal(raw, &req))
	assert.Equal(t, "secrets/db/password", req.GetPath())

	list, err := r.Resolve(t.Context(), "/demo.v1.Vault/List")
	require.NoError(t, err)
	assert.True(t, list.Method.IsStreamingServer())

	_, err = s.Request([]byte(`{"nope": 1}`))
	assert.ErrorContains(t, err, "not a demo.v1.ReadRequest in JSON")

	_, err = r.Resolve(t.Context(), "/demo.v1.Vault/Nope")
	require.ErrorIs(t, err, load.ErrUnknownMethod)
	assert.ErrorContains(t, err, "service demo.v1.Vault has no method Nope (it has Read, Write, List)")
	_, err = r.Resolve(t.Context(), "/foo.v1.Bar/Baz")
	require.ErrorIs(t, err, load.ErrUnknownMethod)
	assert.ErrorContains(t, err, "does not know service foo.v1.Bar")
}

func TestReflectionMissing(t *testing.T) {
	conns := startStallServer(t, newGate()) // no reflection service
	_, err := load.Reflection(conns[0]).Resolve(t.Context(), stallMethod)
	assert.ErrorIs(t, err, load.ErrNoReflection)
}

func TestLocalResolver(t *testing.T) {
	s, err := load.Local(protoregistry.GlobalFiles).Resolve(t.Context(), "/demo.v1.Vault/Write")
	require.NoError(t, err)
	assert.Equal(t, "demo.v1.WriteRequest", string(s.Method.Input().FullName()))
	_, err = load.Local(protoregistry.GlobalFiles).Resolve(t.Context(), "/demo.v1.Vault/Delete")
	assert.ErrorIs(t, err, load.ErrUnknownMethod)
}

// TestReferenceWithGrants loads the in-process reference with minted and
// broker grants, unary and streaming: every call is allowed.
func TestReferenceWithGrants(t *testing.T) {
	ref, conns := startReference(t, time.Millisecond)
	minting := stack.DevMinting("alice", 5*time.Minute, nil)
	brokerID, err := token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil).
		Identity(token.IdentitySpec{Subject: "alice", Audience: stack.BrokerAudience, TTL: time.Hour})
	require.NoError(t, err)
	brokerConn, err := ref.BrokerConn(brokerID)
	require.NoError(t, err)
	t.Cleanup(func() { _ = brokerConn.Close() })
	viaBroker := load.PerWorkerBroker(jitv1.NewBrokerClient(brokerConn), brokerclient.Options{Service: token.DevAudience})

	readBytes, err := proto.Marshal(&demov1.ReadRequest{Path: "secrets/db/password"})
	require.NoError(t, err)

	tests := []struct {
		name    string
		method  string
		request []byte
		stream  bool
		mode    load.GrantMode
		source  func(int) interceptor.GrantSource
	}{
		{"minted per call", demov1.Vault_Read_FullMethodName, readBytes, false, load.PerCall, load.Shared(minting)},
		{"minted cached, streaming", demov1.Vault_List_FullMethodName, nil, true, load.Cached, load.Shared(minting)},
		{"broker per call", demov1.Vault_Read_FullMethodName, readBytes, false, load.PerCall, viaBroker},
		{"broker renew", demov1.Vault_Read_FullMethodName, readBytes, false, load.Renew, viaBroker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := load.NewMethod(conns, tt.method, tt.request, tt.stream)
			require.NoError(t, err)
			creds, err := load.NewGrants(load.GrantConfig{Mode: tt.mode, Method: tt.method, Identity: minting, Source: tt.source})
			require.NoError(t, err)
			res, err := newGen(t, load.Options{Target: target, Credentials: creds, Concurrency: 2, Calls: 20}).Run(t.Context())
			require.NoError(t, err)
			assert.Equal(t, map[string]int64{"OK": 20}, res.Codes)
			want := int64(20)
			if tt.mode != load.PerCall {
				want = 2 // one per worker
			}
			assert.Equal(t, want, res.Phases["grant"].Count(), "grants obtained")
		})
	}
}

func TestDialUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	_, err = load.Dial(t.Context(), addr, load.DialOptions{Connections: 2, Timeout: 2 * time.Second})
	var ue *load.UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, addr, ue.Addr)
	assert.ErrorContains(t, err, "cannot reach "+addr)
	assert.ErrorContains(t, err, "connection refused")
}

func TestNormalizeMethod(t *testing.T) {
	for in, want := range map[string]string{
		"/demo.v1.Vault/Read": "/demo.v1.Vault/Read",
		"demo.v1.Vault/Read":  "/demo.v1.Vault/Read",
		"demo.v1.Vault.Read":  "/demo.v1.Vault/Read",
		" Svc/M ":             "/Svc/M",
	} {
		got, err := load.NormalizeMethod(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "Read", "/a/b/c", "a.b/", "/x y/z"} {
		_, err := load.NormalizeMethod(bad)
		assert.Error(t, err, bad)
	}
}
