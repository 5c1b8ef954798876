package proxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes/proxy"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
)

// TestJITFaultsOnTheReferenceVault puts the proxy in front of the
// reference Vault and checks that credential faults produce the refusals a
// real deployment would: a grant not propagated, a tampered grant or
// identity, a grant dropped on streams only.
func TestJITFaultsOnTheReferenceVault(t *testing.T) {
	t.Parallel()
	svc, err := stack.New(stack.Config{})
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = svc.Serve(lis) }()
	t.Cleanup(svc.Server.Stop)

	p, err := proxy.New(proxy.Config{Upstream: lis.Addr().String()})
	require.NoError(t, err)
	plis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = p.Serve(plis) }()
	t.Cleanup(p.Stop)
	conn, err := grpc.NewClient(plis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	vault := demov1.NewVaultClient(conn)

	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	m := stack.DevMinting("alice", 10*time.Minute, nil)
	m.Resource = "secrets/*"
	id, err := m.Identity(ctx)
	require.NoError(t, err)
	readGrant, err := m.Grant(ctx, demov1.Vault_Read_FullMethodName)
	require.NoError(t, err)
	listGrant, err := m.Grant(ctx, demov1.Vault_List_FullMethodName)
	require.NoError(t, err)
	read := func() error {
		c := metadata.AppendToOutgoingContext(ctx, interceptor.IdentityHeader, "Bearer "+id.Token, interceptor.GrantHeader, readGrant.Token)
		_, err := vault.Read(c, &demov1.ReadRequest{Path: "secrets/db/password"})
		return err
	}
	list := func() error {
		c := metadata.AppendToOutgoingContext(ctx, interceptor.IdentityHeader, "Bearer "+id.Token, interceptor.GrantHeader, listGrant.Token)
		st, err := vault.List(c, &demov1.ListRequest{Prefix: "secrets/"})
		if err != nil {
			return err
		}
		for {
			if _, err := st.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	require.NoError(t, read())
	require.NoError(t, list())

	tests := []struct {
		spec       string
		readReason reason.Reason // "" for OK
		listReason reason.Reason
	}{
		{"metadata:header=x-jit-grant,action=drop", reason.GrantMissing, reason.GrantMissing},
		{"metadata:header=x-jit-grant,action=corrupt", reason.GrantBadSignature, reason.GrantBadSignature},
		{"metadata:action=corrupt", reason.IdentityInvalid, reason.IdentityInvalid},
		{"metadata:action=drop", reason.IdentityMissing, reason.IdentityMissing},
		{"metadata:header=x-jit-grant,action=drop,methods=/demo.v1.Vault/List", "", reason.GrantMissing},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			mustAdd(t, p.Faults(), tt.spec)
			defer p.Faults().Clear()
			for what, got := range map[string]struct {
				err  error
				want reason.Reason
			}{"Read": {read(), tt.readReason}, "List": {list(), tt.listReason}} {
				d := reason.FromError(got.err)
				if got.want == "" {
					assert.Equal(t, codes.OK, d.Code, "%s: %v", what, got.err)
					continue
				}
				assert.Equal(t, got.want, d.Reason, "%s: %v", what, got.err)
				assert.Equal(t, got.want.Code(), d.Code, what)
			}
		})
	}
}
