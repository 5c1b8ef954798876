package stack_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/demo"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/stack"
)

// The interceptor overhead benchmarks: the same unary Read against the
// reference service with and without its interceptors, on the same transport,
// with the same metadata on the wire. The only difference between the two
// sub-benchmarks is the server-side interceptor work on a warm cache. The
// project's target is protected throughput ≥ 0.95 × unprotected; scripts/bench.sh
// runs both, interleaved, and computes the ratio of medians. Client and server
// share the process, so ns/op, calls/s and cpu-ns/op (user plus system CPU
// time of the process per call) all include both sides of each call.

// benchParallelism multiplies GOMAXPROCS into the number of calling
// goroutines, enough to keep a 2-core server busy.
const benchParallelism = 8

// benchPath is a secret inside the grant's resource scope.
const benchPath = "secrets/db/password"

// transport starts serving svc and returns a client connection to it.
type transport func(b *testing.B, svc *stack.Service) *grpc.ClientConn

func loopback(b *testing.B, svc *stack.Service) *grpc.ClientConn {
	b.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = svc.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

func overBufconn(b *testing.B, svc *stack.Service) *grpc.ClientConn {
	b.Helper()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = svc.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

// BenchmarkUnaryLoopback measures demo.v1.Vault/Read over a real loopback TCP
// connection, with (protected) and without (unprotected) the interceptors.
func BenchmarkUnaryLoopback(b *testing.B) { benchUnary(b, loopback) }

// BenchmarkUnaryBufconn is BenchmarkUnaryLoopback over an in-memory bufconn
// listener: the same comparison without the kernel's network stack.
func BenchmarkUnaryBufconn(b *testing.B) { benchUnary(b, overBufconn) }

func benchUnary(b *testing.B, dial transport) {
	// Minted once per benchmark function: the bytes both variants send.
	md := benchMetadata(b)
	for _, v := range []struct {
		name        string
		unprotected bool
	}{{"protected", false}, {"unprotected", true}} {
		b.Run(v.name, func(b *testing.B) {
			svc, err := stack.New(stack.Config{Unprotected: v.unprotected})
			if err != nil {
				b.Fatal(err)
			}
			conn := dial(b, svc)
			b.Cleanup(func() {
				_ = conn.Close()
				svc.Server.Stop()
			})
			client := demov1.NewVaultClient(conn)
			ctx := metadata.NewOutgoingContext(context.Background(), md)
			req := &demov1.ReadRequest{Path: benchPath}

			// One call outside the timing: connects, and fills the
			// verifiers' caches so every timed call is a cache hit.
			if _, err := client.Read(ctx, req); err != nil {
				b.Fatalf("warm-up call: %v", err)
			}
			if !v.unprotected && svc.Grants.CacheLen() != 1 {
				b.Fatalf("grant cache holds %d entries after the warm-up call, want 1", svc.Grants.CacheLen())
			}
			before := svc.Vault.TotalHandlerCalls()

			b.SetParallelism(benchParallelism)
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.Read(ctx, req); err != nil {
						b.Errorf("Read: %v", err)
						return
					}
				}
			})
			b.StopTimer()
			if s := b.Elapsed().Seconds(); s > 0 {
				b.ReportMetric(float64(b.N)/s, "calls/s")
			}
			reportCPU(b, cpu0)
			if got := svc.Vault.TotalHandlerCalls() - before; got != int64(b.N) && !b.Failed() {
				b.Fatalf("the handler ran %d times for %d calls", got, b.N)
			}
		})
	}
}

// BenchmarkUnaryInterceptor is the server interceptor alone, as stack.New
// installs it, called directly with the same credentials and request: the
// absolute cost the interceptor adds to each protected call (warm caches), to
// read against the per-call cost of BenchmarkUnaryBufconn/unprotected when the
// end-to-end figures are too noisy to resolve a few percent.
func BenchmarkUnaryInterceptor(b *testing.B) {
	svc, err := stack.New(stack.Config{})
	if err != nil {
		b.Fatal(err)
	}
	unary := interceptor.NewServer(interceptor.ServerConfig{
		Identity: svc.Identity, Grants: svc.Grants, Resource: demo.Resource,
	}).Unary()
	ctx := metadata.NewIncomingContext(context.Background(), benchMetadata(b))
	req := &demov1.ReadRequest{Path: benchPath}
	info := &grpc.UnaryServerInfo{FullMethod: demov1.Vault_Read_FullMethodName}
	handler := func(context.Context, any) (any, error) { return req, nil }
	if _, err := unary(ctx, req, info, handler); err != nil {
		b.Fatalf("warm-up call: %v", err)
	}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := processCPU()
		for b.Loop() {
			if _, err := unary(ctx, req, info, handler); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu0)
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(benchParallelism)
		b.ReportAllocs()
		cpu0 := processCPU()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := unary(ctx, req, info, handler); err != nil {
					b.Errorf("interceptor: %v", err)
					return
				}
			}
		})
		reportCPU(b, cpu0)
	})
}

// reportCPU reports the process's CPU time (user plus system, every
// goroutine: client and server alike) per op since cpu0 as cpu-ns/op: a second
// view beside wall time, which other processes on a shared machine disturb
// less (though they still do, through caches and the scheduler).
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := processCPU() - cpu0; cpu0 > 0 && cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// benchMetadata mints a valid identity and a grant for Vault/Read on
// secrets/* with the development issuers, as outgoing metadata.
func benchMetadata(b *testing.B) metadata.MD {
	b.Helper()
	m := stack.DevMinting("alice", 30*time.Minute, nil)
	m.Resource = "secrets/*"
	ctx := context.Background()
	id, err := m.Identity(ctx)
	if err != nil {
		b.Fatal(err)
	}
	g, err := m.Grant(ctx, demov1.Vault_Read_FullMethodName)
	if err != nil {
		b.Fatal(err)
	}
	return metadata.Pairs(
		interceptor.IdentityHeader, "Bearer "+id.Token,
		interceptor.GrantHeader, g.Token,
	)
}
