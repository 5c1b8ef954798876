package attack_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// feedEpoch is the fake clocks' start, a whole second.
var feedEpoch = time.Date(2026, 9, 10, 11, 12, 13, 0, time.UTC)

// The reviewer and the requester of the default policy.
var (
	feedAlice = broker.Caller{Subject: "alice"}
	feedCarol = broker.Caller{Subject: "carol", Groups: []string{"security"}}
)

// feedProfiles are the two credential profiles every finding is checked in.
var feedProfiles = []struct {
	name   string
	single bool
}{{name: "two-token"}, {name: "single-token", single: true}}

// feedEnv is `jitbench serve --role broker` and `--role vault` in one
// process: a broker and a Vault on bufconn, the Vault fetching keys and
// following the revocation feed over gRPC, as the split deployment does.
// The broker can be restarted on a new listener (the Vault dials whichever
// is current), with or without its data directory.
type feedEnv struct {
	cfg       stack.SystemConfig
	clock     clockwork.Clock
	brokerLis atomic.Pointer[bufconn.Listener]
	broker    *stack.System
	vault     *stack.System
	client    demov1.VaultClient
	idp       *token.Issuer
	single    bool
}

// feedStart starts the broker and the Vault of cfg; the clock is cfg.Clock
// for both (nil: the real clock).
func feedStart(t *testing.T, cfg stack.SystemConfig) *feedEnv {
	t.Helper()
	e := &feedEnv{clock: cfg.Clock, single: cfg.Service.SingleToken}
	if e.clock == nil {
		e.clock = clockwork.NewRealClock()
	}
	cfg.Clock, cfg.Service.Clock = e.clock, e.clock
	cfg.DialBroker = func(ctx context.Context, _ string) (net.Conn, error) { return e.brokerLis.Load().DialContext(ctx) }
	e.cfg = cfg
	e.idp = token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), e.clock)
	e.startBroker(t)
	t.Cleanup(func() { e.broker.Stop() })
	e.vault, e.client = e.startVault(t)
	return e
}

// startBroker starts a broker of e.cfg on a new listener and makes it the one the Vaults dial.
func (e *feedEnv) startBroker(t *testing.T) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	sys, err := stack.StartBroker(e.cfg, lis)
	require.NoError(t, err)
	e.broker = sys
	e.brokerLis.Store(lis)
}

// restartBroker stops the broker (its listener and every stream to it
// close) and starts a new one with dataDir: "" starts on an empty memory
// store, as `serve --role broker` without --data-dir does.
func (e *feedEnv) restartBroker(t *testing.T, dataDir string) {
	t.Helper()
	e.broker.Stop()
	e.cfg.DataDir = dataDir
	e.startBroker(t)
}

// startVault starts one more Vault trusting the current broker and returns it with a client.
func (e *feedEnv) startVault(t *testing.T) (*stack.System, demov1.VaultClient) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sys, err := stack.StartService(ctx, e.cfg, "broker", lis)
	require.NoError(t, err)
	t.Cleanup(sys.Stop)
	conn, err := grpc.NewClient("passthrough:///vault",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return sys, demov1.NewVaultClient(conn)
}

// feedGrant is one approved grant and its request.
type feedGrant struct {
	request, id, raw string
	exp              time.Time
}

// grant has alice ask the current broker for Vault/Read for d, carol
// approve, and returns the grant.
func (e *feedEnv) grant(t *testing.T, d time.Duration) feedGrant {
	t.Helper()
	ctx := t.Context()
	b := e.broker.Broker
	r, err := b.RequestAccess(ctx, feedAlice, &jitv1.RequestAccessRequest{
		Scope:         &jitv1.Scope{Service: token.DevAudience, Methods: []string{demov1.Vault_Read_FullMethodName}},
		Justification: "attack regression", Duration: durationpb.New(d)})
	require.NoError(t, err)
	_, err = b.Review(ctx, feedCarol, &jitv1.ReviewRequest{Id: r.GetId(), Decision: jitv1.Decision_DECISION_APPROVE})
	require.NoError(t, err)
	r, err = b.GetRequest(ctx, feedAlice, r.GetId())
	require.NoError(t, err)
	require.Equal(t, jitv1.State_STATE_APPROVED, r.GetState())
	return feedGrant{request: r.GetId(), id: r.GetGrantId(), raw: r.GetGrant(), exp: r.GetGrantExpiresAt().AsTime()}
}

// revoke has carol revoke g at the current broker.
func (e *feedEnv) revoke(t *testing.T, g feedGrant) {
	t.Helper()
	_, err := e.broker.Broker.Revoke(t.Context(), feedCarol, &jitv1.RevokeRequest{Id: g.request, Comment: "attack regression"})
	require.NoError(t, err)
}

// read calls Vault/Read through client with grant raw, as alice.
func (e *feedEnv) read(t *testing.T, client demov1.VaultClient, raw string) error {
	t.Helper()
	md := []string{"authorization", "Bearer " + raw}
	if !e.single {
		id, err := e.idp.Identity(token.IdentitySpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Hour})
		require.NoError(t, err)
		md = []string{"authorization", "Bearer " + id, "x-jit-grant", raw}
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), md...), 10*time.Second)
	defer cancel()
	_, err := client.Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
	return err
}

// feedDenied checks that err is a denial with code and reason want as a client sees it.
func feedDenied(t *testing.T, err error, code codes.Code, want reason.Reason, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	assert.Equal(t, code, status.Code(err), msgAndArgs...)
	assert.Equal(t, want, reason.FromError(err).Reason, msgAndArgs...)
}

// feedWait waits for another goroutine to make cond true; it never waits for time to pass.
func feedWait(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, msg)
}

// Finding 1: the Vault's revocation view forgot a revoked grant at its exp,
// but the verifier accepts the grant until exp + leeway, so a revoked grant
// worked again for the whole leeway (6 of 6 calls OK between exp+1s and
// exp+26s); the broker's replay dropped it at exp too, so a Vault that
// (re)connected in that window never heard of it. A revocation must hold
// at every instant the verifier could accept the grant.
func TestAttack01RevokedGrantAfterExp(t *testing.T) {
	for _, profile := range feedProfiles {
		t.Run(profile.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(feedEpoch)
			// A staleness bound longer than the test's jumps: only revocation is under test.
			e := feedStart(t, stack.SystemConfig{Clock: clock, MaxStaleness: time.Hour,
				Service: stack.Config{SingleToken: profile.single}})
			g := e.grant(t, 2*time.Minute)
			require.NoError(t, e.read(t, e.client, g.raw))
			e.revoke(t, g)
			feedWait(t, func() bool { return e.vault.Revocations.Status().Revoked == 1 }, "the revocation never reached the Vault")
			feedDenied(t, e.read(t, e.client, g.raw), codes.PermissionDenied, reason.GrantRevoked)

			for _, past := range []time.Duration{time.Second, 13 * time.Second, 26 * time.Second, token.DefaultLeeway} {
				clock.Advance(g.exp.Add(past).Sub(clock.Now()))
				feedDenied(t, e.read(t, e.client, g.raw), codes.PermissionDenied, reason.GrantRevoked,
					"exp+%v: still within the leeway", past)
			}

			// A Vault that starts now, within the leeway, is replayed the revocation.
			late, lateClient := e.startVault(t)
			assert.Equal(t, 1, late.Revocations.Status().Revoked)
			feedDenied(t, e.read(t, lateClient, g.raw), codes.PermissionDenied, reason.GrantRevoked, "a Vault that started at exp+leeway")

			// Past the leeway the grant is plainly expired, at both.
			clock.Advance(time.Second)
			for _, c := range []demov1.VaultClient{e.client, lateClient} {
				feedDenied(t, e.read(t, c, g.raw), codes.PermissionDenied, reason.GrantExpired)
			}
		})
	}
}

// Finding 2: a broker restarted without --data-dir numbers its feed from 1
// again, and the Vault resumed after the last sequence it had seen, so the
// new broker's first revocations were skipped (3 of 4 revoked grants stayed
// OK) while heartbeats kept the view "fresh". The feed carries an epoch: a
// Vault that sees a new one is replayed the feed from the start (and keeps
// the revocations it knew). A durable broker keeps its epoch.
func TestAttack02RevocationsAfterBrokerRestart(t *testing.T) {
	for _, profile := range feedProfiles {
		t.Run(profile.name+"/without data dir", func(t *testing.T) {
			e := feedStart(t, stack.SystemConfig{RevocationMode: brokerclient.Strict,
				Service: stack.Config{SingleToken: profile.single}})
			var before []feedGrant
			for range 3 {
				g := e.grant(t, time.Hour)
				e.revoke(t, g)
				before = append(before, g)
			}
			firstEpoch := e.broker.Broker.Epoch()
			feedWait(t, func() bool {
				st := e.vault.Revocations.Status()
				return st.Epoch == firstEpoch && st.Sequence == 3
			}, "the first broker's revocations never reached the Vault")

			e.restartBroker(t, "")
			require.NotEqual(t, firstEpoch, e.broker.Broker.Epoch(), "an empty store is a new epoch")
			var after []feedGrant
			for range 4 {
				g := e.grant(t, time.Hour)
				e.revoke(t, g)
				after = append(after, g)
			}
			live := e.grant(t, time.Hour)
			feedWait(t, func() bool {
				st := e.vault.Revocations.Status()
				return st.Epoch == e.broker.Broker.Epoch() && st.Sequence == 4 && !st.LastHeard.IsZero()
			}, "the Vault never caught up with the restarted broker's feed")
			assert.Equal(t, 1, e.vault.Revocations.Status().EpochChanges)

			for i, g := range after {
				feedDenied(t, e.read(t, e.client, g.raw), codes.PermissionDenied, reason.GrantRevoked,
					"grant %d revoked at the restarted broker", i+1)
			}
			for i, g := range before {
				feedDenied(t, e.read(t, e.client, g.raw), codes.PermissionDenied, reason.GrantRevoked,
					"grant %d revoked at the broker that lost its store", i+1)
			}
			require.NoError(t, e.read(t, e.client, live.raw), "a live grant of the new broker")
		})
	}

	t.Run("with data dir", func(t *testing.T) {
		dir := t.TempDir()
		e := feedStart(t, stack.SystemConfig{DataDir: dir})
		first := e.grant(t, time.Hour)
		e.revoke(t, first)
		epoch := e.broker.Broker.Epoch()
		feedWait(t, func() bool { return e.vault.Revocations.Status().Sequence == 1 }, "the revocation never reached the Vault")

		e.restartBroker(t, dir)
		assert.Equal(t, epoch, e.broker.Broker.Epoch(), "a durable store keeps its epoch")
		second := e.grant(t, time.Hour)
		e.revoke(t, second)
		feedWait(t, func() bool {
			st := e.vault.Revocations.Status()
			return st.Sequence == 2 && !st.LastHeard.IsZero()
		}, "the Vault never resumed the restarted broker's feed")
		assert.Zero(t, e.vault.Revocations.Status().EpochChanges, "the Vault resumed where it was")
		for _, g := range []feedGrant{first, second} {
			feedDenied(t, e.read(t, e.client, g.raw), codes.PermissionDenied, reason.GrantRevoked)
		}
	})
}

// feedKeySet returns the id of the key set the current broker publishes, over gRPC.
func (e *feedEnv) feedKeySet(t *testing.T) string {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///broker",
		grpc.WithContextDialer(e.cfg.DialBroker), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	resp, err := jitv1.NewBrokerClient(conn).Keys(t.Context(), &jitv1.KeysRequest{})
	require.NoError(t, err)
	return resp.GetKeySetId()
}

// Finding 3: a key retired or removed at the broker was still accepted by
// the Vault until its key source's 5-minute refresh. Key changes are now
// announced on the revocation feed, and the Vault fetches the new set at
// once, so the key stops verifying within the feed's staleness bound.
func TestAttack03RetiredKeyStopsVerifying(t *testing.T) {
	for _, profile := range feedProfiles {
		// A grant signed with a retired key: unknown to the verifier, which
		// leaves a single-token caller unknown.
		wantCode, wantReason := codes.PermissionDenied, reason.GrantUnknownKey
		if profile.single {
			wantCode, wantReason = codes.Unauthenticated, reason.IdentityInvalid
		}
		signWith := func(t *testing.T, clock clockwork.Clock, alg string) string {
			t.Helper()
			key, err := token.DevKeySet(token.DevGrantIssuer).Lookup(token.DevKeyID(token.DevGrantIssuer, alg), clock.Now())
			require.NoError(t, err)
			iss := token.NewIssuer(token.DevGrantIssuer, token.NewKeySet(key), clock)
			raw, _, err := iss.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience,
				Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}, TTL: 10 * time.Minute})
			require.NoError(t, err)
			return raw
		}

		t.Run(profile.name+"/retired at once", func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(feedEpoch)
			e := feedStart(t, stack.SystemConfig{Clock: clock, Service: stack.Config{SingleToken: profile.single}})
			// Someone holds the private half of the broker's ES256 key.
			leaked := token.DevKeyID(token.DevGrantIssuer, token.ES256)
			forged := signWith(t, clock, token.ES256)
			require.NoError(t, e.read(t, e.client, forged), "the key verifies before it is retired")

			before := e.vault.Revocations.Status().KeySetID
			require.NoError(t, e.broker.Broker.RetireKey(leaked))
			want := e.feedKeySet(t)
			require.NotEqual(t, before, want)
			feedWait(t, func() bool { return e.vault.Revocations.Status().KeySetID == want },
				"the key change never reached the Vault's feed")

			// No time passes: the key source's TTL has not run out.
			err := e.read(t, e.client, forged)
			feedDenied(t, err, wantCode, wantReason, "a cached grant of the retired key")
			if profile.single {
				assert.Equal(t, string(reason.GrantUnknownKey), reason.FromError(err).Metadata["token_reason"])
			}
			feedDenied(t, e.read(t, e.client, signWith(t, clock, token.ES256)), wantCode, wantReason, "a new grant of the retired key")
			assert.Equal(t, want, e.vault.Keys.Status().KeySetID)
			require.NoError(t, e.read(t, e.client, e.grant(t, time.Hour).raw), "grants of the signing key still verify")
		})

		t.Run(profile.name+"/past a rotation's overlap", func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(feedEpoch)
			// The staleness bound outlasts the jump, so only the key change is under test.
			e := feedStart(t, stack.SystemConfig{Clock: clock, MaxStaleness: 2 * time.Hour, HeartbeatInterval: time.Minute,
				Service: stack.Config{SingleToken: profile.single}})
			next, err := token.GenerateKey(token.EdDSA, "broker-rotated")
			require.NoError(t, err)
			require.NoError(t, e.broker.Broker.Rotate(next))
			rotated := e.feedKeySet(t)
			feedWait(t, func() bool { return e.vault.Revocations.Status().KeySetID == rotated }, "the rotation never reached the Vault's feed")
			require.NoError(t, e.read(t, e.client, signWith(t, clock, token.EdDSA)), "the old key verifies during the overlap")

			// The overlap is the policy's longest grant (an hour); the next heartbeat announces the key's end.
			clock.Advance(time.Hour + time.Minute)
			ended := e.feedKeySet(t)
			require.NotEqual(t, rotated, ended)
			feedWait(t, func() bool { return e.vault.Revocations.Status().KeySetID == ended }, "the overlap's end never reached the Vault's feed")
			feedDenied(t, e.read(t, e.client, signWith(t, clock, token.EdDSA)), wantCode, wantReason, "a grant of the rotated-out key")
			require.NoError(t, e.read(t, e.client, e.grant(t, time.Hour).raw), "a grant of the new key")
		})
	}
}
