// Package demo is the protected gRPC service that jitbench's reference JIT
// interceptor guards: a small in-memory secret vault that also counts how
// often each handler ran, so tests can prove a denied call never reached it.
package demo

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
)

// entry is one stored secret; values are never shared with callers, so the
// map is the only owner of these bytes.
type entry struct {
	value   []byte
	version int64
}

// Vault is an in-memory implementation of demov1.VaultServer; create it with
// NewVault.
type Vault struct {
	demov1.UnimplementedVaultServer

	mu      sync.RWMutex
	entries map[string]entry

	// Counters are bumped before any validation, so "the handler ran" is
	// recorded even for calls the handler itself rejects.
	reads, writes, lists atomic.Int64
}

var _ demov1.VaultServer = (*Vault)(nil)

// DefaultSeed returns a fresh copy of the secrets a Vault holds when NewVault
// is given a nil seed.
func DefaultSeed() map[string][]byte {
	return map[string][]byte{
		"secrets/db/password":    []byte("correct-horse-battery-staple"),
		"secrets/api/token":      []byte("tok_demo_0123456789"),
		"secrets/tls/server.key": []byte("-----BEGIN DEMO KEY-----"),
		"public/motd":            []byte("hello from the demo vault"),
	}
}

// NewVault returns a Vault holding a copy of seed at version 1; a nil seed
// means DefaultSeed, while an empty non-nil map gives an empty vault.
func NewVault(seed map[string][]byte) *Vault {
	if seed == nil {
		seed = DefaultSeed()
	}
	v := &Vault{entries: make(map[string]entry, len(seed))}
	for path, value := range seed {
		// Cloned so later changes to the caller's map or slices cannot leak in.
		v.entries[path] = entry{value: bytes.Clone(value), version: 1}
	}
	return v
}

// Read returns the value at req.Path, or NOT_FOUND if nothing is stored there.
func (v *Vault) Read(_ context.Context, req *demov1.ReadRequest) (*demov1.ReadResponse, error) {
	v.reads.Add(1)
	path := req.GetPath()
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "path is required")
	}
	v.mu.RLock()
	e, ok := v.entries[path]
	v.mu.RUnlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no secret at %q", path)
	}
	return &demov1.ReadResponse{Path: path, Value: bytes.Clone(e.value), Version: e.version}, nil
}

// Write stores req.Value at req.Path and returns the new version, which is 1
// for a new path and one more than before otherwise.
func (v *Vault) Write(_ context.Context, req *demov1.WriteRequest) (*demov1.WriteResponse, error) {
	v.writes.Add(1)
	path := req.GetPath()
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "path is required")
	}
	value := bytes.Clone(req.GetValue())
	v.mu.Lock()
	e := v.entries[path]
	e.value, e.version = value, e.version+1
	v.entries[path] = e
	v.mu.Unlock()
	return &demov1.WriteResponse{Version: e.version}, nil
}

// List streams, sorted by path, every entry whose path starts with
// req.Prefix, and stops with the context's status once the call is cancelled.
func (v *Vault) List(req *demov1.ListRequest, stream grpc.ServerStreamingServer[demov1.ListResponse]) error {
	v.lists.Add(1)
	prefix := req.GetPrefix()

	// Snapshot under the lock and send without it, so a slow client cannot
	// block writers.
	v.mu.RLock()
	out := make([]*demov1.ListResponse, 0, len(v.entries))
	for path, e := range v.entries {
		if strings.HasPrefix(path, prefix) {
			out = append(out, &demov1.ListResponse{Path: path, Version: e.version})
		}
	}
	v.mu.RUnlock()
	slices.SortFunc(out, func(a, b *demov1.ListResponse) int { return strings.Compare(a.Path, b.Path) })

	ctx := stream.Context()
	for _, resp := range out {
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
	return nil
}

// HandlerCalls reports how many times the handler for fullMethod (for example
// demov1.Vault_Read_FullMethodName) has been entered; unknown methods give 0.
func (v *Vault) HandlerCalls(fullMethod string) int64 {
	switch fullMethod {
	case demov1.Vault_Read_FullMethodName:
		return v.reads.Load()
	case demov1.Vault_Write_FullMethodName:
		return v.writes.Load()
	case demov1.Vault_List_FullMethodName:
		return v.lists.Load()
	default:
		return 0
	}
}

// TotalHandlerCalls reports how many times any Vault handler has been entered.
func (v *Vault) TotalHandlerCalls() int64 {
	return v.reads.Load() + v.writes.Load() + v.lists.Load()
}

// Get reads the secret at path directly, bypassing gRPC and the handler
// counters, so tests can check state that a denied call must not have changed.
func (v *Vault) Get(path string) (value []byte, version int64, ok bool) {
	v.mu.RLock()
	e, ok := v.entries[path]
	v.mu.RUnlock()
	return bytes.Clone(e.value), e.version, ok
}

// ProtectedMethods returns the full method names of every Vault RPC, the set
// a JIT interceptor is expected to guard; the slice is a fresh copy.
func ProtectedMethods() []string {
	return []string{
		demov1.Vault_Read_FullMethodName,
		demov1.Vault_Write_FullMethodName,
		demov1.Vault_List_FullMethodName,
	}
}

// Resource returns the resource a Vault request addresses (the path for Read
// and Write, the prefix for List, where "" means the whole vault) so an
// interceptor can match it against a grant's scope; it reports false for any
// other message, including nil requests.
func Resource(req any) (string, bool) {
	switch r := req.(type) {
	case *demov1.ReadRequest:
		return r.GetPath(), r != nil
	case *demov1.WriteRequest:
		return r.GetPath(), r != nil
	case *demov1.ListRequest:
		return r.GetPrefix(), r != nil
	default:
		return "", false
	}
}

// Register installs v, the standard health service (SERVING for the server as
// a whole and for demo.v1.Vault) and server reflection on s, which is what
// grpcurl-style tools and load balancers expect from a real service.
func Register(s *grpc.Server, v *Vault) {
	demov1.RegisterVaultServer(s, v)

	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(demov1.Vault_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)

	reflection.Register(s)
}
