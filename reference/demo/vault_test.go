package demo_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/demo"
)

// serve runs v behind a real gRPC server on an in-memory listener and returns
// a client connection to it; opts lets a test add interceptors.
func serve(t *testing.T, v *demo.Vault, opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	demo.Register(srv, v)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// listAll drains a List stream into its paths, in the order received.
func listAll(t *testing.T, client demov1.VaultClient, prefix string) []string {
	t.Helper()
	stream, err := client.List(t.Context(), &demov1.ListRequest{Prefix: prefix})
	require.NoError(t, err)
	var paths []string
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return paths
		}
		require.NoError(t, err)
		paths = append(paths, resp.GetPath())
	}
}

func TestReadSeed(t *testing.T) {
	client := demov1.NewVaultClient(serve(t, demo.NewVault(nil)))
	for path, want := range demo.DefaultSeed() {
		t.Run(path, func(t *testing.T) {
			resp, err := client.Read(t.Context(), &demov1.ReadRequest{Path: path})
			require.NoError(t, err)
			assert.Equal(t, path, resp.GetPath())
			assert.Equal(t, want, resp.GetValue())
			assert.Equal(t, int64(1), resp.GetVersion())
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
		want codes.Code
	}{
		{"missing path", "secrets/nope", codes.NotFound},
		{"prefix of a stored path", "secrets/db", codes.NotFound},
		{"empty path", "", codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := demo.NewVault(nil)
			client := demov1.NewVaultClient(serve(t, v))
			_, err := client.Read(t.Context(), &demov1.ReadRequest{Path: tt.path})
			assert.Equal(t, tt.want, status.Code(err), "err: %v", err)
			// The handler ran and rejected the call itself.
			assert.Equal(t, int64(1), v.HandlerCalls(demov1.Vault_Read_FullMethodName))
		})
	}
}

func TestWriteThenRead(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		writes      []string
		wantVersion int64
	}{
		{"new path starts at version 1", "secrets/new", []string{"a"}, 1},
		{"new path written twice", "secrets/new", []string{"a", "b"}, 2},
		{"seeded path continues its version", "secrets/db/password", []string{"x", "y", "z"}, 4},
		{"empty value is a value", "secrets/empty", []string{""}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := demov1.NewVaultClient(serve(t, demo.NewVault(nil)))
			var last *demov1.WriteResponse
			for _, value := range tt.writes {
				var err error
				last, err = client.Write(t.Context(), &demov1.WriteRequest{Path: tt.path, Value: []byte(value)})
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantVersion, last.GetVersion())

			resp, err := client.Read(t.Context(), &demov1.ReadRequest{Path: tt.path})
			require.NoError(t, err)
			assert.Equal(t, tt.wantVersion, resp.GetVersion())
			assert.Equal(t, tt.writes[len(tt.writes)-1], string(resp.GetValue()))
		})
	}
}

func TestWriteEmptyPath(t *testing.T) {
	v := demo.NewVault(map[string][]byte{})
	client := demov1.NewVaultClient(serve(t, v))
	_, err := client.Write(t.Context(), &demov1.WriteRequest{Value: []byte("x")})
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	_, _, ok := v.Get("")
	assert.False(t, ok)
}

func TestConcurrentWrites(t *testing.T) {
	const n = 50
	v := demo.NewVault(map[string][]byte{})
	client := demov1.NewVaultClient(serve(t, v))
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := client.Write(t.Context(), &demov1.WriteRequest{Path: "secrets/hot", Value: []byte("v")})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	_, version, ok := v.Get("secrets/hot")
	require.True(t, ok)
	// Every write got its own version: none was lost to a race.
	assert.Equal(t, int64(n), version)
	assert.Equal(t, int64(n), v.HandlerCalls(demov1.Vault_Write_FullMethodName))
}

func TestList(t *testing.T) {
	seed := map[string][]byte{
		"secrets/b":   nil,
		"secrets/a":   nil,
		"secrets/a/x": nil,
		"secretsz":    nil,
		"public/motd": nil,
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"public/motd", "secrets/a", "secrets/a/x", "secrets/b", "secretsz"}},
		{"secrets/", []string{"secrets/a", "secrets/a/x", "secrets/b"}},
		{"secrets/a", []string{"secrets/a", "secrets/a/x"}},
		{"public/", []string{"public/motd"}},
		{"nothing/", nil},
	}
	client := demov1.NewVaultClient(serve(t, demo.NewVault(seed)))
	for _, tt := range tests {
		t.Run("prefix="+tt.prefix, func(t *testing.T) {
			assert.Equal(t, tt.want, listAll(t, client, tt.prefix))
		})
	}
}

func TestListReportsVersions(t *testing.T) {
	client := demov1.NewVaultClient(serve(t, demo.NewVault(map[string][]byte{"k": nil})))
	_, err := client.Write(t.Context(), &demov1.WriteRequest{Path: "k", Value: []byte("v")})
	require.NoError(t, err)
	stream, err := client.List(t.Context(), &demov1.ListRequest{})
	require.NoError(t, err)
	resp, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, "k", resp.GetPath())
	assert.Equal(t, int64(2), resp.GetVersion())
	_, err = stream.Recv()
	assert.Equal(t, io.EOF, err)
}

// fakeListStream drives Vault.List directly so cancellation can be placed at
// an exact point in the stream instead of racing a real connection.
type fakeListStream struct {
	grpc.ServerStream
	ctx    context.Context
	sent   []string
	onSend func()
}

func (f *fakeListStream) Context() context.Context { return f.ctx }
func (f *fakeListStream) Send(resp *demov1.ListResponse) error {
	f.sent = append(f.sent, resp.GetPath())
	if f.onSend != nil {
		f.onSend()
	}
	return nil
}

func TestListHonoursCancellation(t *testing.T) {
	seed := map[string][]byte{"a": nil, "b": nil, "c": nil}
	tests := []struct {
		name       string
		cancelWhen int // cancel before the stream starts (0) or after this many sends
		wantSent   []string
	}{
		{"cancelled before start", 0, nil},
		{"cancelled after first entry", 1, []string{"a"}},
		{"cancelled after second entry", 2, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stream := &fakeListStream{ctx: ctx}
			if tt.cancelWhen == 0 {
				cancel()
			} else {
				stream.onSend = func() {
					if len(stream.sent) == tt.cancelWhen {
						cancel()
					}
				}
			}
			err := demo.NewVault(seed).List(&demov1.ListRequest{}, stream)
			assert.Equal(t, codes.Canceled, status.Code(err), "err: %v", err)
			assert.Equal(t, tt.wantSent, stream.sent)
		})
	}
}

func TestHandlerCalls(t *testing.T) {
	v := demo.NewVault(nil)
	client := demov1.NewVaultClient(serve(t, v))

	_, err := client.Read(t.Context(), &demov1.ReadRequest{Path: "secrets/db/password"})
	require.NoError(t, err)
	_, err = client.Read(t.Context(), &demov1.ReadRequest{Path: "missing"})
	require.Error(t, err)
	_, err = client.Write(t.Context(), &demov1.WriteRequest{Path: "secrets/x", Value: []byte("1")})
	require.NoError(t, err)
	listAll(t, client, "secrets/")

	tests := []struct {
		method string
		want   int64
	}{
		{demov1.Vault_Read_FullMethodName, 2},
		{demov1.Vault_Write_FullMethodName, 1},
		{demov1.Vault_List_FullMethodName, 1},
		{"/demo.v1.Vault/Delete", 0},
		{"", 0},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			assert.Equal(t, tt.want, v.HandlerCalls(tt.method))
		})
	}
	assert.Equal(t, int64(4), v.TotalHandlerCalls())
}

// TestDeniedCallsNeverReachHandler shows the counters' purpose: calls that an
// interceptor rejects leave every counter and the stored data untouched.
func TestDeniedCallsNeverReachHandler(t *testing.T) {
	deny := status.Error(codes.PermissionDenied, "no grant")
	v := demo.NewVault(nil)
	conn := serve(t, v,
		grpc.UnaryInterceptor(func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
			return nil, deny
		}),
		grpc.StreamInterceptor(func(any, grpc.ServerStream, *grpc.StreamServerInfo, grpc.StreamHandler) error {
			return deny
		}),
	)
	client := demov1.NewVaultClient(conn)

	_, err := client.Read(t.Context(), &demov1.ReadRequest{Path: "secrets/db/password"})
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = client.Write(t.Context(), &demov1.WriteRequest{Path: "secrets/db/password", Value: []byte("pwned")})
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	stream, err := client.List(t.Context(), &demov1.ListRequest{})
	require.NoError(t, err)
	_, err = stream.Recv()
	assert.Equal(t, codes.PermissionDenied, status.Code(err))

	assert.Zero(t, v.TotalHandlerCalls())
	for _, m := range demo.ProtectedMethods() {
		assert.Zero(t, v.HandlerCalls(m), m)
	}
	value, version, ok := v.Get("secrets/db/password")
	require.True(t, ok)
	assert.Equal(t, demo.DefaultSeed()["secrets/db/password"], value)
	assert.Equal(t, int64(1), version)
}

func TestNewVaultCopiesSeed(t *testing.T) {
	seed := map[string][]byte{"k": []byte("orig")}
	v := demo.NewVault(seed)
	seed["k"][0] = 'X'
	seed["other"] = []byte("late")

	value, _, ok := v.Get("k")
	require.True(t, ok)
	assert.Equal(t, "orig", string(value))
	_, _, ok = v.Get("other")
	assert.False(t, ok)

	// Get hands out copies too.
	value[0] = 'Y'
	again, _, _ := v.Get("k")
	assert.Equal(t, "orig", string(again))
}

func TestNewVaultSeeds(t *testing.T) {
	tests := []struct {
		name string
		seed map[string][]byte
		want int
	}{
		{"nil seed uses default", nil, len(demo.DefaultSeed())},
		{"empty seed is empty", map[string][]byte{}, 0},
		{"custom seed", map[string][]byte{"a": nil, "b": nil}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := demov1.NewVaultClient(serve(t, demo.NewVault(tt.seed)))
			assert.Len(t, listAll(t, client, ""), tt.want)
		})
	}
}

func TestHealthServing(t *testing.T) {
	client := healthpb.NewHealthClient(serve(t, demo.NewVault(nil)))
	for _, service := range []string{"", "demo.v1.Vault"} {
		t.Run("service="+service, func(t *testing.T) {
			resp, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
			require.NoError(t, err)
			assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
		})
	}
	_, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "demo.v1.Unknown"})
	assert.Equal(t, codes.NotFound, status.Code(err))
}

func TestReflectionListsVault(t *testing.T) {
	client := reflectionpb.NewServerReflectionClient(serve(t, demo.NewVault(nil)))
	stream, err := client.ServerReflectionInfo(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.NoError(t, stream.CloseSend())

	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	assert.Contains(t, names, "demo.v1.Vault")
	assert.Contains(t, names, "grpc.health.v1.Health")

	// The descriptor is resolvable too, which is what grpcurl needs.
	stream2, err := client.ServerReflectionInfo(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream2.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "demo.v1.Vault"},
	}))
	fileResp, err := stream2.Recv()
	require.NoError(t, err)
	assert.NotEmpty(t, fileResp.GetFileDescriptorResponse().GetFileDescriptorProto())
}

func TestResource(t *testing.T) {
	tests := []struct {
		name   string
		req    any
		want   string
		wantOK bool
	}{
		{"read", &demov1.ReadRequest{Path: "secrets/a"}, "secrets/a", true},
		{"write", &demov1.WriteRequest{Path: "secrets/b", Value: []byte("v")}, "secrets/b", true},
		{"list", &demov1.ListRequest{Prefix: "secrets/"}, "secrets/", true},
		{"list everything", &demov1.ListRequest{}, "", true},
		{"read response", &demov1.ReadResponse{Path: "secrets/a"}, "", false},
		{"list response", &demov1.ListResponse{Path: "secrets/a"}, "", false},
		{"write response", &demov1.WriteResponse{Version: 1}, "", false},
		{"health request", &healthpb.HealthCheckRequest{Service: "x"}, "", false},
		{"nil read request", (*demov1.ReadRequest)(nil), "", false},
		{"nil list request", (*demov1.ListRequest)(nil), "", false},
		{"untyped nil", nil, "", false},
		{"string", "secrets/a", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := demo.Resource(tt.req)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestProtectedMethods(t *testing.T) {
	want := []string{"/demo.v1.Vault/Read", "/demo.v1.Vault/Write", "/demo.v1.Vault/List"}
	assert.Equal(t, want, demo.ProtectedMethods())

	// Callers get their own copy.
	demo.ProtectedMethods()[0] = "changed"
	assert.Equal(t, want, demo.ProtectedMethods())

	// Every method of the generated service descriptor is covered.
	var fromDesc []string
	for _, m := range demov1.Vault_ServiceDesc.Methods {
		fromDesc = append(fromDesc, "/"+demov1.Vault_ServiceDesc.ServiceName+"/"+m.MethodName)
	}
	for _, s := range demov1.Vault_ServiceDesc.Streams {
		fromDesc = append(fromDesc, "/"+demov1.Vault_ServiceDesc.ServiceName+"/"+s.StreamName)
	}
	assert.ElementsMatch(t, want, fromDesc)
}
