package attack_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
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
	"github.com/jitbench/jitbench/reference/token"
)

// tokenEpoch is a whole second, so crafted claims carry the stack's clock exactly.
var tokenEpoch = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// identity is a valid identity token for alice.
func (e *stackEnv) identity(t *testing.T) string {
	t.Helper()
	raw, err := e.idp.Identity(token.IdentitySpec{Subject: "alice", Audience: token.DevAudience, TTL: 10 * time.Minute})
	require.NoError(t, err)
	return raw
}

// call makes a Vault/Read (write: Vault/Write) on secrets/db/password with alice's identity and grant.
func (e *stackEnv) call(t *testing.T, write bool, grant string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+e.identity(t), "x-jit-grant", grant)
	if write {
		_, err := e.vault.Write(ctx, &demov1.WriteRequest{Path: "secrets/db/password", Value: []byte("pwned")})
		return err
	}
	_, err := e.vault.Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
	return err
}

// tokenDevKey is the trusted development grant key for alg.
func tokenDevKey(t *testing.T, alg string) *token.Key {
	t.Helper()
	k, err := token.DevKeySet(token.DevGrantIssuer).Lookup(token.DevKeyID(token.DevGrantIssuer, alg), tokenEpoch)
	require.NoError(t, err)
	return k
}

// tokenCraft signs header and payload, given as exact JSON text, with the
// trusted EdDSA development key: what a holder of that key (or an issuer
// bug) could send, byte for byte.
func tokenCraft(t *testing.T, header, payload string) string {
	t.Helper()
	key := tokenDevKey(t, token.EdDSA)
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig := ed25519.Sign(key.Private.(ed25519.PrivateKey), []byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// tokenHeader is a well-formed grant header for the EdDSA development key.
func tokenHeader() string {
	return fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":%q}`, token.DevKeyID(token.DevGrantIssuer, token.EdDSA), token.TypeGrant)
}

// tokenMembers are the members of a valid Read grant for alice at the
// stack's clock, as JSON text; exp is the exp member's value, left out when empty.
func tokenMembers(exp string) []string {
	now := tokenEpoch.Unix()
	m := []string{
		fmt.Sprintf(`"iss":%q`, token.DevGrantIssuer), `"sub":"alice"`, fmt.Sprintf(`"aud":%q`, token.DevAudience),
		`"jti":"attack"`, fmt.Sprintf(`"iat":%d`, now), fmt.Sprintf(`"nbf":%d`, now),
		`"scope":{"methods":["/demo.v1.Vault/Read"],"resource":"secrets/*"}`,
	}
	if exp != "" {
		m = append(m, `"exp":`+exp)
	}
	return m
}

// tokenObject joins members into a JSON object.
func tokenObject(members ...string) string { return "{" + strings.Join(members, ",") + "}" }

// tokenRequireDenied checks that err is the gRPC status code with reason want, and returns its details.
func tokenRequireDenied(t *testing.T, err error, code codes.Code, want reason.Reason) reason.Details {
	t.Helper()
	require.Error(t, err, "the call must be refused")
	assert.Equal(t, code, status.Code(err), "%v", err)
	d := reason.FromError(err)
	assert.Equal(t, want, d.Reason, "%v", err)
	return d
}

// Finding 4: claim and header names are matched exactly. Go's encoding/json
// matched "EXP" to exp and let a later duplicate win, so a trusted key's
// expired grant was revived and a Read grant widened to every method.
func TestAttack04ClaimNamesExact(t *testing.T) {
	e := startStack(t, tokenEpoch, nil)
	past := fmt.Sprint(tokenEpoch.Add(-time.Hour).Unix())
	soon := fmt.Sprint(tokenEpoch.Add(5 * time.Minute).Unix())
	kid := token.DevKeyID(token.DevGrantIssuer, token.EdDSA)

	// The control: the crafted grant itself is fine.
	require.NoError(t, e.call(t, false, tokenCraft(t, tokenHeader(), tokenObject(tokenMembers(soon)...))))

	tests := []struct {
		name    string
		write   bool
		header  string
		payload string
		member  string // the claim or header parameter the denial names
	}{
		{name: "EXP revives an expired grant", payload: tokenObject(append(tokenMembers(past), `"EXP":`+soon)...), member: "exp"},
		{name: "Exp stands in for a missing exp", payload: tokenObject(append(tokenMembers(""), `"Exp":`+soon)...), member: "exp"},
		{name: "a second exp revives an expired grant", payload: tokenObject(append(tokenMembers(past), `"exp":`+soon)...), member: "exp"},
		{name: "Scope widens a Read grant to Write", write: true,
			payload: tokenObject(append(tokenMembers(soon), `"Scope":{"methods":["/*"]}`)...), member: "scope"},
		{name: "a second scope widens a Read grant to Write", write: true,
			payload: tokenObject(append(tokenMembers(soon), `"scope":{"methods":["/*"]}`)...), member: "scope"},
		{name: "Methods inside scope", write: true,
			payload: strings.Replace(tokenObject(tokenMembers(soon)...), `"resource"`, `"Methods":["/*"],"resource"`, 1), member: "scope.methods"},
		{name: "Sub names another subject", payload: tokenObject(append(tokenMembers(soon), `"Sub":"bob"`)...), member: "sub"},
		{name: "a second alg header", header: fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":%q,"alg":"EdDSA"}`, kid, token.TypeGrant),
			payload: tokenObject(tokenMembers(soon)...), member: "alg"},
		{name: "Kid header beside kid", header: fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":%q,"Kid":"other"}`, kid, token.TypeGrant),
			payload: tokenObject(tokenMembers(soon)...), member: "kid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header
			if header == "" {
				header = tokenHeader()
			}
			d := tokenRequireDenied(t, e.call(t, tc.write, tokenCraft(t, header, tc.payload)), codes.PermissionDenied, reason.GrantMalformed)
			assert.Equal(t, tc.member, d.Metadata["claim"]+d.Metadata["header"], "the denial names the member: %s", d.Message)
		})
	}
}

// Finding 5: absurd NumericDates are range-checked before they become
// times. 9223372000000000000 and 1e19 wrapped to the far past (so nbf was
// accepted), and exp 1e308 was called expired 2562047h ago.
func TestAttack05AbsurdTimes(t *testing.T) {
	e := startStack(t, tokenEpoch, nil)
	now := tokenEpoch.Unix()
	tests := []struct {
		name  string
		claim string
		value string
	}{
		{"nbf near int64 max", "nbf", "9223372000000000000"},
		{"nbf 1e19", "nbf", "1e19"},
		{"exp 1e308", "exp", "1e308"},
		{"iat negative", "iat", "-1"},
		{"exp after year 9999", "exp", "253402300800"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]string{"iat": fmt.Sprint(now), "nbf": fmt.Sprint(now), "exp": fmt.Sprint(now + 300)}
			claims[tc.claim] = tc.value
			payload := fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":%q,"jti":"absurd","iat":%s,"nbf":%s,"exp":%s,"scope":{"methods":["/demo.v1.Vault/Read"]}}`,
				token.DevGrantIssuer, token.DevAudience, claims["iat"], claims["nbf"], claims["exp"])
			d := tokenRequireDenied(t, e.call(t, false, tokenCraft(t, tokenHeader(), payload)), codes.PermissionDenied, reason.GrantMalformed)
			assert.Equal(t, tc.claim, d.Metadata["claim"], "%s", d.Message)
			assert.Contains(t, d.Message, tc.claim)
		})
	}
}

// Finding 6: ES256 signatures are not malleable. The (r, n−s) twin of a
// valid grant verified too: a second spelling of one grant, a new cache
// entry and a new text for anything keyed on it. The reference issuer emits
// low-s only and the verifier refuses high-s.
func TestAttack06ES256HighS(t *testing.T) {
	e := startStack(t, tokenEpoch, nil)
	set := token.DevKeySet(token.DevGrantIssuer)
	require.NoError(t, set.Use(token.DevKeyID(token.DevGrantIssuer, token.ES256)))
	iss := token.NewIssuer(token.DevGrantIssuer, set, e.clock)
	n := elliptic.P256().Params().N
	half := new(big.Int).Rsh(n, 1)
	// ECDSA signing is randomised: a few grants make a high-s draw from the
	// issuer (before the fix) all but certain; each must come out low-s.
	for i := range 8 {
		raw, _, err := iss.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Minute,
			ID: fmt.Sprintf("es-%d", i), Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}, Resource: "secrets/*"}})
		require.NoError(t, err)
		dot := strings.LastIndexByte(raw, '.')
		input := raw[:dot]
		sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
		require.NoError(t, err)
		require.Len(t, sig, 64)
		s := new(big.Int).SetBytes(sig[32:])
		assert.LessOrEqual(t, s.Cmp(half), 0, "the issuer emitted a high-s signature")

		require.NoError(t, e.call(t, false, raw), "the issued grant")
		twin := make([]byte, 64)
		copy(twin, sig[:32])
		new(big.Int).Sub(n, s).FillBytes(twin[32:])
		twinRaw := input + "." + base64.RawURLEncoding.EncodeToString(twin)
		require.True(t, ecdsa.Verify(tokenDevKey(t, token.ES256).Public.(*ecdsa.PublicKey), tokenDigest(input), new(big.Int).SetBytes(twin[:32]), new(big.Int).SetBytes(twin[32:])),
			"the twin is a mathematically valid signature")
		d := tokenRequireDenied(t, e.call(t, false, twinRaw), codes.PermissionDenied, reason.GrantBadSignature)
		assert.Contains(t, d.Message, "high-s")
	}
}

// tokenDigest is the ES256 message digest of a JWS signing input.
func tokenDigest(input string) []byte {
	sum := sha256.Sum256([]byte(input))
	return sum[:]
}

// Finding 9: an identity token sent as the grant is reported as the wrong
// kind of token, not as signed by an unknown key: the fix is to send the
// grant, not to refresh keys.
func TestAttack09IdentityAsGrant(t *testing.T) {
	e := startStack(t, tokenEpoch, nil)
	d := tokenRequireDenied(t, e.call(t, false, e.identity(t)), codes.PermissionDenied, reason.GrantWrongType)
	assert.Equal(t, token.TypeIdentity, d.Metadata["typ"])
	assert.Equal(t, token.TypeGrant, d.Metadata["expected_typ"])
}
