package harness

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
)

// Call is one call to the demo Vault.
type Call struct {
	// Method is the full method name: a demov1.Vault_*_FullMethodName.
	Method string
	// Path is the resource: the path to read or write, or the prefix to list.
	Path string
	// Metadata is sent as outgoing headers, as key, value pairs.
	Metadata []string
	// Options are extra call options, e.g. grpc.PerRPCCredentials.
	Options []grpc.CallOption
	// Deadline bounds the call; zero means 5 s.
	Deadline time.Duration
}

// Result is what a call came back with.
type Result struct {
	reason.Details
	Latency time.Duration
}

// Do makes c on conn and reports its code, reason and latency. A List is
// read to the end, so a denial on the first message counts.
func Do(ctx context.Context, conn *grpc.ClientConn, c Call) Result {
	d := c.Deadline
	if d == 0 {
		d = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, c.Metadata...)
	start := time.Now()
	err := invoke(ctx, demov1.NewVaultClient(conn), c.Method, c.Path, c.Options...)
	return Result{Details: reason.FromError(err), Latency: time.Since(start)}
}

// invoke makes one call of method on the Vault addressing path; an unknown
// method is a Read, the Vault's everyday call.
func invoke(ctx context.Context, client demov1.VaultClient, method, path string, opts ...grpc.CallOption) error {
	switch method {
	case demov1.Vault_Write_FullMethodName:
		_, err := client.Write(ctx, &demov1.WriteRequest{Path: path, Value: []byte("written by jitbench")}, opts...)
		return err
	case demov1.Vault_List_FullMethodName:
		return drain(client.List(ctx, &demov1.ListRequest{Prefix: path}, opts...))
	default:
		_, err := client.Read(ctx, &demov1.ReadRequest{Path: path}, opts...)
		return err
	}
}

func drain(stream grpc.ServerStreamingClient[demov1.ListResponse], err error) error {
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
