package attack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// oneshotEpoch is a whole second, so grant windows end on exact instants.
var oneshotEpoch = time.Date(2026, 7, 8, 9, 10, 11, 0, time.UTC)

// grant signs a grant for alice on Read and List of secrets/*; spec's
// non-zero fields override.
func (e *stackEnv) grant(t *testing.T, spec token.GrantSpec) string {
	t.Helper()
	spec.Subject, spec.Audience = "alice", token.DevAudience
	if len(spec.Scope.Methods) == 0 {
		spec.Scope = token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName, demov1.Vault_List_FullMethodName}, Resource: "secrets/*"}
	}
	if spec.TTL == 0 {
		spec.TTL = time.Minute
	}
	raw, _, err := e.broker.Grant(spec)
	require.NoError(t, err)
	return raw
}

// creds is the metadata carrying grant: with alice's identity token in the
// two-token profile, alone in the single-token one.
func (e *stackEnv) creds(t *testing.T, grant string) []string {
	t.Helper()
	if e.single {
		return []string{"authorization", "Bearer " + grant}
	}
	id, err := e.idp.Identity(token.IdentitySpec{Subject: "alice", Audience: token.DevAudience, TTL: 10 * time.Minute})
	require.NoError(t, err)
	return []string{"authorization", "Bearer " + id, "x-jit-grant", grant}
}

// read is a Vault/Read of path with the metadata pairs md.
func (e *stackEnv) read(t *testing.T, path string, md ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), md...), 10*time.Second)
	defer cancel()
	_, err := e.vault.Read(ctx, &demov1.ReadRequest{Path: path})
	return err
}

// list is a Vault/List of prefix, read to its end, with the metadata pairs md.
func (e *stackEnv) list(t *testing.T, prefix string, md ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), md...), 10*time.Second)
	defer cancel()
	stream, err := e.vault.List(ctx, &demov1.ListRequest{Prefix: prefix})
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

// oneshotDenied checks that err is a denial with code and reason want, as a client sees it.
func oneshotDenied(t *testing.T, err error, code codes.Code, want reason.Reason) reason.Details {
	t.Helper()
	require.Error(t, err)
	d := reason.FromError(err)
	assert.Equal(t, code, status.Code(err), "%v", err)
	assert.Equal(t, want, d.Reason, "%v", err)
	return d
}

// Finding 7: a List stream refused for its resource used up the one-shot
// grant, so the caller's next, authorised call got GRANT_REPLAYED. The grant
// must be used only by a call that passed every check, streams included;
// and the register is keyed on the grant id, not the token's text.
func TestAttack07RefusedCallKeepsOneShot(t *testing.T) {
	for _, profile := range []struct {
		name   string
		single bool
	}{{"two-token", false}, {"single-token", true}} {
		t.Run(profile.name, func(t *testing.T) {
			e := startStack(t, oneshotEpoch, func(c *stack.Config) { c.SingleToken = profile.single })
			grant := e.grant(t, token.GrantSpec{OneShot: true})

			err := e.list(t, "payroll/", e.creds(t, grant)...)
			oneshotDenied(t, err, codes.PermissionDenied, reason.GrantScopeMismatch)
			err = e.list(t, "", e.creds(t, grant)...) // "everything" is outside secrets/* too
			oneshotDenied(t, err, codes.PermissionDenied, reason.GrantScopeMismatch)
			err = e.read(t, "payroll/q3", e.creds(t, grant)...)
			oneshotDenied(t, err, codes.PermissionDenied, reason.GrantScopeMismatch)
			assert.Zero(t, e.svc.Vault.TotalHandlerCalls(), "no refused call reached the Vault")

			require.NoError(t, e.list(t, "secrets/", e.creds(t, grant)...), "the refused calls left the grant unused")
			assert.EqualValues(t, 1, e.svc.Vault.HandlerCalls(demov1.Vault_List_FullMethodName))

			err = e.list(t, "secrets/", e.creds(t, grant)...)
			oneshotDenied(t, err, codes.PermissionDenied, reason.GrantReplayed)
			err = e.read(t, "secrets/db/password", e.creds(t, grant)...)
			oneshotDenied(t, err, codes.PermissionDenied, reason.GrantReplayed)
			assert.EqualValues(t, 1, e.svc.Vault.TotalHandlerCalls())
		})
	}
	t.Run("same grant id, different token text", func(t *testing.T) {
		e := startStack(t, oneshotEpoch, nil)
		first := e.grant(t, token.GrantSpec{OneShot: true, ID: "grant-once"})
		e.clock.Advance(time.Second) // a new iat: the same grant id signed into another text
		again := e.grant(t, token.GrantSpec{OneShot: true, ID: "grant-once"})
		require.NotEqual(t, first, again)
		require.NoError(t, e.read(t, "secrets/db/password", e.creds(t, first)...))
		err := e.read(t, "secrets/db/password", e.creds(t, again)...)
		d := oneshotDenied(t, err, codes.PermissionDenied, reason.GrantReplayed)
		assert.Equal(t, "grant-once", d.Metadata["grant_id"])
	})
}

// Finding 8: once the one-shot register held its maximum of ids, every fresh
// one-shot grant was refused as GRANT_REPLAYED for up to an hour. Ids must
// be held only while the verifier could accept their grant (exp + leeway),
// and a register truly full of live ids must say so: RESOURCE_EXHAUSTED,
// ONE_SHOT_REGISTER_FULL. A revocation must likewise outlive exp + leeway.
func TestAttack08OneShotRegisterBounded(t *testing.T) {
	t.Run("register", func(t *testing.T) {
		e := startStack(t, oneshotEpoch, func(c *stack.Config) { c.OneShotCapacity = 2 })
		used := []string{e.grant(t, token.GrantSpec{OneShot: true}), e.grant(t, token.GrantSpec{OneShot: true})}
		for _, g := range used {
			require.NoError(t, e.read(t, "secrets/db/password", e.creds(t, g)...))
		}
		fresh := e.grant(t, token.GrantSpec{OneShot: true, TTL: 10 * time.Minute})
		err := e.read(t, "secrets/db/password", e.creds(t, fresh)...)
		d := oneshotDenied(t, err, codes.ResourceExhausted, reason.OneShotRegisterFull)
		assert.Equal(t, "2", d.Metadata["capacity"])
		err = e.list(t, "secrets/", e.creds(t, fresh)...)
		oneshotDenied(t, err, codes.ResourceExhausted, reason.OneShotRegisterFull)

		// The last instant the verifier accepts the used grants: their ids are still held.
		e.clock.Advance(time.Minute + token.DefaultLeeway)
		err = e.read(t, "secrets/db/password", e.creds(t, used[0])...)
		oneshotDenied(t, err, codes.PermissionDenied, reason.GrantReplayed)
		err = e.read(t, "secrets/db/password", e.creds(t, fresh)...)
		oneshotDenied(t, err, codes.ResourceExhausted, reason.OneShotRegisterFull)

		// Right after, expiry refuses them, and their room is free.
		e.clock.Advance(time.Nanosecond)
		err = e.read(t, "secrets/db/password", e.creds(t, used[0])...)
		oneshotDenied(t, err, codes.PermissionDenied, reason.GrantExpired)
		require.NoError(t, e.read(t, "secrets/db/password", e.creds(t, fresh)...))
		require.NoError(t, e.list(t, "secrets/", e.creds(t, e.grant(t, token.GrantSpec{OneShot: true}))...))
		err = e.read(t, "secrets/db/password", e.creds(t, fresh)...)
		oneshotDenied(t, err, codes.PermissionDenied, reason.GrantReplayed)
	})
	t.Run("revocation outlives exp + leeway", func(t *testing.T) {
		revoked := token.NewRevocationSet()
		e := startStack(t, oneshotEpoch, func(c *stack.Config) { c.Revocations, c.Leeway = revoked, 2*time.Minute })
		raw := e.grant(t, token.GrantSpec{ID: "grant-revoked"})
		revoked.Revoke("grant-revoked", oneshotEpoch.Add(time.Minute))

		e.clock.Advance(time.Minute + 2*time.Minute) // exp + the service's leeway: still acceptable but for the revocation
		revoked.Prune(e.clock.Now())
		err := e.read(t, "secrets/db/password", e.creds(t, raw)...)
		oneshotDenied(t, err, codes.PermissionDenied, reason.GrantRevoked)

		e.clock.Advance(time.Nanosecond)
		assert.Zero(t, revoked.Prune(e.clock.Now()), "dropped once no verifier could accept the grant")
		err = e.read(t, "secrets/db/password", e.creds(t, raw)...)
		oneshotDenied(t, err, codes.PermissionDenied, reason.GrantExpired)
	})
}

// Finding 10: "authorization: Bearer " with nothing after it was reported
// IDENTITY_MISSING. A header that is there but holds no token is
// IDENTITY_MALFORMED, in both profiles, for unary calls and streams; only
// an absent header is IDENTITY_MISSING.
func TestAttack10EmptyBearerIsMalformed(t *testing.T) {
	values := []string{"Bearer ", "Bearer    ", "bearer", "Bearer", "   "}
	for _, profile := range []struct {
		name   string
		single bool
	}{{"two-token", false}, {"single-token", true}} {
		t.Run(profile.name, func(t *testing.T) {
			e := startStack(t, oneshotEpoch, func(c *stack.Config) { c.SingleToken = profile.single })
			grant := []string{"x-jit-grant", e.grant(t, token.GrantSpec{})}
			for _, v := range values {
				md := append([]string{"authorization", v}, grant...)
				err := e.read(t, "secrets/db/password", md...)
				oneshotDenied(t, err, codes.Unauthenticated, reason.IdentityMalformed)
				err = e.list(t, "secrets/", md...)
				oneshotDenied(t, err, codes.Unauthenticated, reason.IdentityMalformed)
			}
			err := e.read(t, "secrets/db/password", grant...)
			oneshotDenied(t, err, codes.Unauthenticated, reason.IdentityMissing)
			err = e.list(t, "secrets/", grant...)
			oneshotDenied(t, err, codes.Unauthenticated, reason.IdentityMissing)
			assert.Zero(t, e.svc.Vault.TotalHandlerCalls())
		})
	}
}

// Finding 14: the verified-token caches were capped by count only, so
// 120,000 distinct 8 KiB tokens grew them to hundreds of megabytes. They
// must stay within a byte budget however large the tokens sent.
func TestAttack14CachesBoundedByBytes(t *testing.T) {
	const budget = 128 << 10
	const calls = 40
	e := startStack(t, oneshotEpoch, func(c *stack.Config) { c.CacheBytes = budget })
	pad := strings.Repeat("x", 5600) // brings each token close to the 8 KiB limit
	var idLen, grantLen int
	for i := range calls {
		id, err := e.idp.Identity(token.IdentitySpec{Subject: "alice", Audience: token.DevAudience, TTL: 10 * time.Minute,
			Groups: []string{fmt.Sprint("group-", i), pad}})
		require.NoError(t, err)
		grant := e.grant(t, token.GrantSpec{RequestID: fmt.Sprint("req-", i, "-", pad)})
		idLen, grantLen = len(id), len(grant)
		require.Greater(t, idLen, 7<<10)
		require.Greater(t, grantLen, 7<<10)
		require.NoError(t, e.read(t, "secrets/db/password", "authorization", "Bearer "+id, "x-jit-grant", grant))
	}
	for name, c := range map[string]struct {
		n, bytes, tokenLen int
	}{
		"identity": {e.svc.Identity.CacheLen(), e.svc.Identity.CacheBytes(), idLen},
		"grant":    {e.svc.Grants.CacheLen(), e.svc.Grants.CacheBytes(), grantLen},
	} {
		assert.Positive(t, c.n, "%s cache still caches", name)
		assert.LessOrEqual(t, c.n*c.tokenLen, budget, "%s cache holds %d tokens of %d bytes", name, c.n, c.tokenLen)
		assert.LessOrEqual(t, c.bytes, budget, "%s cache's estimate", name)
	}
}
