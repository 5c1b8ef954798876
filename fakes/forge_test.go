package fakes

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// refTarget is the reference service on bufconn, at a fake time, with the
// development identity provider and broker that it trusts.
type refTarget struct {
	clock    *clockwork.FakeClock
	conn     *grpc.ClientConn
	identity string // valid identity of alice
	grant    string // valid grant of alice: Read on secrets/*
}

func newRefTarget(t *testing.T) *refTarget {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	svc, err := stack.New(stack.Config{Clock: clock})
	require.NoError(t, err)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = svc.Serve(lis) }()
	t.Cleanup(svc.Server.Stop)
	conn, err := grpc.NewClient("passthrough:///ref",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	idp := DevIdentityProvider(clock)
	id, err := idp.Token("alice", nil, token.DevAudience, 10*time.Minute)
	require.NoError(t, err)
	broker := token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clock)
	grant, _, err := broker.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience,
		Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}, Resource: "secrets/*"}, TTL: 5 * time.Minute})
	require.NoError(t, err)
	return &refTarget{clock: clock, conn: conn, identity: id, grant: grant}
}

func devForger(clock clockwork.Clock, credential string) *Forger {
	issuer := token.DevGrantIssuer
	if credential == CredentialIdentity {
		issuer = token.DevIdentityIssuer
	}
	return &Forger{Keys: token.DevKeySet(issuer), Issuer: issuer, Audience: token.DevAudience, Subject: "alice",
		Clock: clock, Credential: credential, MaxTokenBytes: token.DefaultMaxTokenBytes,
		Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}}
}

// refused is a grantWant entry for a case whose refusal the table does not pin to one reason.
const refused reason.Reason = "any refusal"

// read calls Vault.Read on a secret with the given authorization values and grant.
func (r *refTarget) read(t *testing.T, authorization []string, grant string) (reason.Details, time.Duration) {
	t.Helper()
	var md []string
	for _, a := range authorization {
		md = append(md, "authorization", a)
	}
	if grant != "" {
		md = append(md, "x-jit-grant", grant)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	start := time.Now()
	_, err := demov1.NewVaultClient(r.conn).Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
	return reason.FromError(err), time.Since(start)
}

// assertNotEchoed checks that no part of tok longer than a few characters
// shows in the denial's message or metadata.
func assertNotEchoed(t *testing.T, d reason.Details, tokens ...string) {
	t.Helper()
	texts := []string{d.Message}
	for k, v := range d.Metadata {
		texts = append(texts, k, v)
	}
	for _, tok := range tokens {
		for _, seg := range strings.Split(tok, ".") {
			if len(seg) < 12 {
				continue
			}
			for _, s := range texts {
				assert.NotContains(t, s, seg, "the denial echoes the token")
			}
		}
	}
}

// grantWant is what the reference answers to each forged grant.
var grantWant = map[string]reason.Reason{
	"FMT-001": reason.GrantMalformed,
	"FMT-002": reason.GrantMalformed,
	"FMT-003": reason.GrantTooLarge,
	"FMT-004": reason.GrantMalformed,
	"FMT-005": reason.GrantTooLarge,
	"FMT-006": refused,

	"SIG-001":             reason.GrantBadSignature,
	"SIG-002":             reason.GrantBadSignature,
	"SIG-003/known-kid":   reason.GrantBadSignature,
	"SIG-003/unknown-kid": reason.GrantUnknownKey,
	"SIG-004":             reason.GrantBadSignature,
	"SIG-005":             reason.GrantBadSignature,

	"ALG-001": reason.GrantAlgMismatch,
	"ALG-002": reason.GrantAlgMismatch,
	"ALG-003": reason.GrantAlgMismatch,

	"KEY-001/attacker-kid": reason.GrantUnknownKey,
	"KEY-001/known-kid":    reason.GrantBadSignature,
	"KEY-002":              reason.GrantUnknownKey,
	"KEY-003":              reason.GrantUnknownKey,
	"KEY-004":              reason.GrantUnknownKey,
	"KEY-005":              reason.GrantAlgMismatch, // HS256 is not pinned: refused before the kid is looked at

	"CLM-001": reason.GrantExpired,
	"CLM-002": reason.GrantClaimMissing,
	"CLM-003": reason.GrantNotYetValid,
	"CLM-004": reason.GrantLifetimeExceeded,
	"CLM-005": reason.GrantIssuerMismatch,
	"CLM-006": reason.GrantAudienceMismatch,
	"CLM-007": reason.GrantSubjectMismatch,
	"CLM-008": reason.GrantReplayed, // on the second use
	"CLM-009": refused,
	"CLM-010": reason.GrantWrongType,

	"SCP-001": reason.GrantScopeMismatch,
	"SCP-002": reason.GrantScopeMismatch,
	"SCP-005": reason.GrantScopeMismatch,

	"SKW-001": "", // accepted
	"SKW-002": reason.GrantExpired,
	"SKW-003": reason.GrantNotYetValid,
}

func want(table map[string]reason.Reason, id, variant string) (reason.Reason, bool) {
	if r, ok := table[id+"/"+variant]; ok {
		return r, true
	}
	r, ok := table[id]
	return r, ok
}

// TestForgerGrantCasesAgainstReference forges every grant case from a real
// grant and sends it to the reference service: each must be refused with
// PERMISSION_DENIED and its precise reason (SKW-001 must pass), quickly,
// without the token showing in the denial.
func TestForgerGrantCasesAgainstReference(t *testing.T) {
	r := newRefTarget(t)
	f := devForger(r.clock, CredentialGrant)
	bearer := []string{"Bearer " + r.identity}

	d, _ := r.read(t, bearer, r.grant)
	require.Equal(t, codes.OK, d.Code, "the valid pair must pass: %+v", d)

	for _, c := range f.Cases() {
		for _, v := range c.Variants {
			t.Run(c.ID+"/"+v, func(t *testing.T) {
				wantReason, ok := want(grantWant, c.ID, v)
				require.True(t, ok, "no expectation for %s/%s", c.ID, v)
				forged, err := f.Mutate(c.ID+"/"+v, r.grant)
				if errors.Is(err, ErrNotApplicable) {
					t.Skip(err)
				}
				require.NoError(t, err)
				require.NotEqual(t, r.grant, forged)

				got, took := r.read(t, bearer, forged)
				if c.ID == "CLM-008" {
					require.Equal(t, codes.OK, got.Code, "the first use of a one-shot grant passes: %+v", got)
					forged, err = f.Mutate(c.ID, r.grant)
					require.NoError(t, err)
					got, took = r.read(t, bearer, forged)
				}
				assert.Less(t, took, 2*time.Second, "bounded time")
				if wantReason == "" {
					assert.Equal(t, codes.OK, got.Code, "%+v", got)
					return
				}
				assert.Equal(t, codes.PermissionDenied, got.Code, "%+v", got)
				if wantReason != refused {
					assert.Equal(t, wantReason, got.Reason, "%s", got.Message)
				}
				assertNotEchoed(t, got, forged, r.grant)
			})
		}
	}
}

// TestForgerIdentityCasesAgainstReference does the same for identity
// tokens and the header-level cases: every one is UNAUTHENTICATED.
func TestForgerIdentityCasesAgainstReference(t *testing.T) {
	r := newRefTarget(t)
	f := devForger(r.clock, CredentialIdentity)
	for _, c := range f.Cases() {
		for _, v := range c.Variants {
			t.Run(c.ID+"/"+v, func(t *testing.T) {
				var auth []string
				var forged string
				if c.Header {
					var err error
					auth, err = IdentityHeaderValues(c.ID+"/"+v, r.identity)
					require.NoError(t, err)
				} else {
					var err error
					forged, err = f.Mutate(c.ID+"/"+v, r.identity)
					if errors.Is(err, ErrNotApplicable) {
						t.Skip(err)
					}
					require.NoError(t, err)
					auth = []string{"Bearer " + forged}
				}
				got, took := r.read(t, auth, r.grant)
				assert.Less(t, took, 2*time.Second, "bounded time")
				switch c.ID {
				case "SKW-001":
					assert.Equal(t, codes.OK, got.Code, "%+v", got)
					return
				case "SIG-005": // advisory: the reference takes identities from providers that may sign high-s
					return
				}
				assert.Equal(t, codes.Unauthenticated, got.Code, "%+v", got)
				assert.True(t, got.Reason.IsIdentity(), "%s: %s", got.Reason, got.Message)
				assertNotEchoed(t, got, forged, r.identity)
			})
		}
	}
}

func TestForgeCasesCoverTheCatalog(t *testing.T) {
	// Every token-level row of CONFORMANCE.md.
	wantIDs := []string{"ID-002", "ID-003", "ID-004",
		"FMT-001", "FMT-002", "FMT-003", "FMT-004", "FMT-005", "FMT-006",
		"SIG-001", "SIG-002", "SIG-003", "SIG-004", "SIG-005",
		"ALG-001", "ALG-002", "ALG-003",
		"KEY-001", "KEY-002", "KEY-003", "KEY-004", "KEY-005",
		"CLM-001", "CLM-002", "CLM-003", "CLM-004", "CLM-005", "CLM-006", "CLM-007", "CLM-008", "CLM-009", "CLM-010",
		"SCP-001", "SCP-002", "SCP-005",
		"SKW-001", "SKW-002", "SKW-003"}
	var got []string
	for _, c := range ForgeCases() {
		got = append(got, c.ID)
		assert.NotEmpty(t, c.Summary, c.ID)
		assert.NotEmpty(t, c.Variants, c.ID)
		assert.NotEmpty(t, c.Credentials, c.ID)
	}
	assert.Equal(t, wantIDs, got)
	var alg ForgeCase
	for _, c := range ForgeCases() {
		if c.ID == "ALG-001" {
			alg = c
		}
	}
	assert.Equal(t, []string{"none", "None", "NONE", "nOnE"}, alg.Variants, "the four spellings")
}

func TestForgerAlgNoneSpellings(t *testing.T) {
	f := devForger(clockwork.NewFakeClockAt(t0), CredentialGrant)
	for _, v := range []string{"none", "None", "NONE", "nOnE"} {
		forged, err := f.Mutate("ALG-001/"+v, "")
		require.NoError(t, err)
		d, err := token.Inspect(forged)
		require.NoError(t, err)
		assert.Equal(t, v, d.Header["alg"])
		assert.True(t, strings.HasSuffix(forged, "."), "no signature")
	}
}

func TestForgerErrors(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	grant, identity := devForger(clock, CredentialGrant), devForger(clock, CredentialIdentity)
	secret := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZS1zZWNyZXQtdG9rZW4ifQ.c2lnbmF0dXJlLXNlY3JldA"
	tests := []struct {
		name   string
		forger *Forger
		id     string
		valid  string
		want   error
	}{
		{"unknown id", grant, "XYZ-001", "", ErrUnknownCase},
		{"unknown variant", grant, "ALG-001/nULL", "", ErrUnknownCase},
		{"grant-only case on an identity", identity, "CLM-007", "", ErrNotApplicable},
		{"identity-only case on a grant", grant, "ID-004", "", ErrNotApplicable},
		{"header-level case through Mutate", identity, "ID-002", "", ErrNotApplicable},
		{"valid token not a JWT", grant, "CLM-001", "not-a-jwt", ErrNotJWT},
		{"valid token with bad base64", grant, "CLM-001", "a.b!.c", ErrNotJWT},
		{"valid token with a non-object payload", grant, "CLM-001", "e30.WzFd.c2ln", ErrNotJWT},
		{"no keys", &Forger{}, "CLM-005", "", ErrNotApplicable},
		{"every algorithm pinned", &Forger{Keys: token.DevKeySet("x"), Algorithms: token.Algorithms()}, "ALG-003", "", ErrNotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.forger.Mutate(tt.id, tt.valid)
			require.ErrorIs(t, err, tt.want)
			_, err = tt.forger.Mutate(tt.id, secret)
			if err != nil {
				for _, seg := range strings.Split(secret, ".") {
					assert.NotContains(t, err.Error(), seg, "errors never echo a token")
				}
			}
		})
	}
	_, err := IdentityHeaderValues("CLM-001", "t")
	require.ErrorIs(t, err, ErrNotApplicable)
	_, err = IdentityHeaderValues("ID-009", "t")
	require.ErrorIs(t, err, ErrUnknownCase)
}

func TestIdentityHeaderValues(t *testing.T) {
	tests := []struct {
		id   string
		want []string
	}{
		{"ID-002", []string{"Basic tok"}},
		{"ID-002/basic", []string{"Basic tok"}},
		{"ID-002/bare", []string{"tok"}},
		{"ID-003", []string{"Bearer tok", "Bearer tok"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := IdentityHeaderValues(tt.id, "tok")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestForgerCraftsFromNothing checks that every case also works without a
// valid token to start from (a black-box target before any grant exists).
func TestForgerCraftsFromNothing(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	keys := token.DevKeySet(token.DevGrantIssuer)
	v, err := token.NewGrantVerifier(keys.Public(), token.Config{Issuer: token.DevGrantIssuer, Audience: token.DevAudience,
		Clock: clock, MaxLifetime: DefaultMaxLifetime, CacheSize: -1})
	require.NoError(t, err)
	f := devForger(clock, CredentialGrant)
	f.Scope = token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}, Resource: "secrets/*"}
	req := token.Request{Subject: "alice", Method: demov1.Vault_Read_FullMethodName, Resource: "secrets/x", HasResource: true}
	for _, c := range f.Cases() {
		for _, variant := range c.Variants {
			t.Run(c.ID+"/"+variant, func(t *testing.T) {
				forged, err := f.Mutate(c.ID+"/"+variant, "")
				if errors.Is(err, ErrNotApplicable) {
					t.Skip(err)
				}
				require.NoError(t, err)
				_, err = v.Verify(forged, req)
				wantReason, _ := want(grantWant, c.ID, variant)
				if c.ID == "CLM-008" {
					require.NoError(t, err, "first use")
					_, err = v.Verify(forged, req)
				}
				if wantReason == "" {
					assert.NoError(t, err)
					return
				}
				if wantReason == refused {
					assert.Error(t, err)
					return
				}
				assert.Equal(t, wantReason, reason.Of(err), "%v", err)
			})
		}
	}
}

func TestForgerRetiredKeys(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	keys := token.DevKeySet(token.DevGrantIssuer)
	next, err := token.DeriveKey(token.EdDSA, "next", "next")
	require.NoError(t, err)
	keys.Rotate(next, clock.Now(), time.Minute)
	v, err := token.NewGrantVerifier(keys.Public(), token.Config{Issuer: token.DevGrantIssuer, Audience: token.DevAudience, Clock: clock})
	require.NoError(t, err)
	f := &Forger{Keys: keys, Issuer: token.DevGrantIssuer, Audience: token.DevAudience, Subject: "alice", Clock: clock}
	clock.Advance(2 * time.Minute) // past the overlap

	forged, err := f.Mutate("KEY-004", "")
	require.NoError(t, err)
	d, err := token.Inspect(forged)
	require.NoError(t, err)
	assert.Equal(t, token.DevKeyID(token.DevGrantIssuer, token.EdDSA), d.Header["kid"], "the issuer's own retired key")
	_, err = v.Parse(forged)
	require.Equal(t, reason.GrantUnknownKey, reason.Of(err))
	assert.Contains(t, err.Error(), "retired")

	// A key the target says it retired wins.
	old, err := token.DeriveKey(token.ES256, "told-retired", "x")
	require.NoError(t, err)
	f.Retired = []*token.Key{old}
	forged, err = f.Mutate("KEY-004", "")
	require.NoError(t, err)
	d, err = token.Inspect(forged)
	require.NoError(t, err)
	assert.Equal(t, "told-retired", d.Header["kid"])
}

// TestForgerSkewCasesSitAtTheLeewayEdge checks that the skew cases land one
// second inside or outside the leeway. Claims carry whole seconds, so each
// is rounded away from the edge: at most one second further, never closer.
func TestForgerSkewCasesSitAtTheLeewayEdge(t *testing.T) {
	for _, frac := range []time.Duration{0, 300 * time.Millisecond, 999 * time.Millisecond} {
		clock := clockwork.NewFakeClockAt(t0.Add(frac))
		for _, leeway := range []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute} {
			f := devForger(clock, CredentialGrant)
			f.Leeway = leeway
			offset := func(id, claim string) time.Duration {
				forged, err := f.Mutate(id, "")
				require.NoError(t, err)
				d, err := token.Inspect(forged)
				require.NoError(t, err)
				at, ok := d.Time(claim)
				require.True(t, ok)
				return at.Sub(clock.Now())
			}
			// exp in the past by at most leeway-1s (and less than a second less): accepted.
			off := offset("SKW-001", "exp")
			assert.True(t, off >= -(leeway-time.Second) && off < -(leeway-2*time.Second), "SKW-001 exp %s, leeway %s", off, leeway)
			// exp in the past by at least leeway+1s: refused.
			off = offset("SKW-002", "exp")
			assert.True(t, off <= -(leeway+time.Second) && off > -(leeway+2*time.Second), "SKW-002 exp %s, leeway %s", off, leeway)
			// nbf and iat in the future by at least leeway+1s: refused.
			for _, claim := range []string{"nbf", "iat"} {
				off = offset("SKW-003", claim)
				assert.True(t, off >= leeway+time.Second && off < leeway+2*time.Second, "SKW-003 %s %s, leeway %s", claim, off, leeway)
			}
		}
	}
}

func TestForgerConcurrentAndDeterministicKeys(t *testing.T) {
	f := devForger(clockwork.NewFakeClockAt(t0), CredentialGrant)
	var wg sync.WaitGroup
	results := make([]string, 16)
	for i := range results {
		wg.Go(func() {
			out, err := f.Mutate("SIG-003/unknown-kid", "")
			if err == nil {
				d, _ := token.Inspect(out)
				results[i] = d.String("kid")
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		assert.Equal(t, "jitbench-attacker-eddsa", r)
	}
	a, err := f.Mutate("CLM-008", "")
	require.NoError(t, err)
	b, err := f.Mutate("CLM-008", "")
	require.NoError(t, err)
	da, _ := token.Inspect(a)
	db, _ := token.Inspect(b)
	assert.Equal(t, da.String("jti"), db.String("jti"), "replays share a jti")
}

func TestDefaultMaxLifetimeMatchesTheStack(t *testing.T) {
	assert.Equal(t, stack.DefaultMaxGrantLifetime, DefaultMaxLifetime)
}

// TestForgerDevNullKid checks that KEY-005/traversal is what a kid-as-path
// verifier would accept (HS256 under a kid reaching /dev/null, MACed with an
// empty key) and that the reference refuses it even when it pins HS256: a kid
// is looked up in the key set, never opened as a file.
func TestForgerDevNullKid(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := devForger(clock, CredentialGrant)
	forged, err := f.Mutate("KEY-005/traversal", "")
	require.NoError(t, err)
	d, err := token.Inspect(forged)
	require.NoError(t, err)
	assert.Equal(t, token.HS256, d.Header["alg"])
	assert.Equal(t, traversalKid, d.Header["kid"])
	input, sig, _ := strings.Cut(forged, ".")
	payload, sig, _ := strings.Cut(sig, ".")
	mac := hmac.New(sha256.New, nil)
	mac.Write([]byte(input + "." + payload))
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), sig, "HMAC-SHA256 with an empty key")

	v, err := token.NewGrantVerifier(token.DevKeySet(token.DevGrantIssuer).Public(), token.Config{
		Issuer: token.DevGrantIssuer, Audience: token.DevAudience, Algorithms: token.Algorithms(), Clock: clock})
	require.NoError(t, err)
	_, err = v.Parse(forged)
	assert.Equal(t, reason.GrantUnknownKey, reason.Of(err), "%v", err)
}
