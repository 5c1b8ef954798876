package diagnosis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/diagnosis"
	"github.com/jitbench/jitbench/reference/token"
)

// TestExplainCauses has one row per cause: the world's valid call with one
// thing changed, the cause it must name and the figures its summary must carry.
func TestExplainCauses(t *testing.T) {
	w := newWorld(t)
	k := w.keys
	g, id := grantClaims(), identityClaims()
	cases := []struct {
		name    string
		call    func(c *diagnosis.Call)
		target  func(t *diagnosis.Target)
		cause   string
		figures []string
	}{
		{name: "reviewer denied", cause: diagnosis.CauseApprovalDenied, figures: []string{"denied", "3s", "never called"},
			call: func(c *diagnosis.Call) {
				c.Phase, c.Grant, c.GrantWait = diagnosis.PhaseGrant, "", 3*time.Second
			}},
		{name: "approval ate the deadline", cause: diagnosis.CauseApprovalSlower, figures: []string{"waited 4s of its 5s deadline for approval", "leaving 1s"},
			call: func(c *diagnosis.Call) {
				c.Code, c.GrantWait, c.Latency = codes.DeadlineExceeded, 4*time.Second, time.Second
			}},
		{name: "broker down", cause: diagnosis.CauseBrokerUnavailable, figures: []string{"broker-down", "2s"},
			call: func(c *diagnosis.Call) {
				c.Phase, c.Code, c.Grant, c.GrantWait = diagnosis.PhaseGrant, codes.Unavailable, "", 2*time.Second
				c.Faults = []diagnosis.Fault{{Kind: "broker-down", What: "stopped the broker"}}
			}},
		{name: "proxy abort", cause: diagnosis.CauseProxyAbort, figures: []string{"UNAVAILABLE", "aborted /demo.v1.Vault/Read with UNAVAILABLE"},
			call: func(c *diagnosis.Call) {
				c.Code, c.Message = codes.Unavailable, "aborted by a jitbench proxy fault"
				c.Faults = []diagnosis.Fault{{Kind: "grpc-fault", What: "aborted /demo.v1.Vault/Read with UNAVAILABLE"}}
			}},
		{name: "retries share the deadline", cause: diagnosis.CauseRetriesShareDeadline, figures: []string{"3 attempts", "2s deadline", "667ms an attempt"},
			call: func(c *diagnosis.Call) {
				c.Code, c.Attempts, c.Deadline, c.Latency = codes.DeadlineExceeded, 3, 2*time.Second, 2*time.Second
			}},
		{name: "latency on the link", cause: diagnosis.CauseNetworkFault, figures: []string{"3s latency", "1.5s of its 1.5s deadline"},
			call: func(c *diagnosis.Call) {
				c.Code, c.Deadline, c.Latency = codes.DeadlineExceeded, 1500*time.Millisecond, 1500*time.Millisecond
				c.Faults = []diagnosis.Fault{{Kind: "network", What: "added 3s latency to client-service, 4 writes"}}
			}},
		{name: "key source down", cause: diagnosis.CauseKeySourceUnavailable, figures: []string{"key-source-outage", "jwks down"},
			call: func(c *diagnosis.Call) {
				c.Code = codes.Unavailable
				c.Faults = []diagnosis.Fault{{Kind: "key-source-outage", What: "jwks down"}}
			}},
		{name: "slow service", cause: diagnosis.CauseDeadlineTooShort, figures: []string{"980ms of its 1s deadline"},
			call: func(c *diagnosis.Call) {
				c.Code, c.Deadline, c.Latency = codes.DeadlineExceeded, time.Second, 980*time.Millisecond
			}},
		{name: "nothing answers", cause: diagnosis.CauseServiceUnreachable, figures: []string{"unreachable"},
			call: func(c *diagnosis.Call) { c.Code, c.Message = codes.Unavailable, "connection refused" }},
		{name: "grant left off", cause: diagnosis.CauseCredentialsMissing, figures: []string{"no grant was attached", "x-jit-grant"},
			call: func(c *diagnosis.Call) { c.Grant = "" }},
		{name: "not a JWT", cause: diagnosis.CauseMalformedToken, figures: []string{"not three dot-separated segments", "it has 1 dot)"},
			call: func(c *diagnosis.Call) { c.Grant = "opaque.reference" }},
		{name: "repeated exp", cause: diagnosis.CauseMalformedToken, figures: []string{"repeats a member name"},
			call: func(c *diagnosis.Call) {
				c.Grant = raw(t, k.grantEd, `{"alg":"EdDSA","kid":"g-ed"}`, `{"iss":"broker.test","aud":"demo.v1.Vault","exp":1,"exp":99999999999}`)
			}},
		{name: "exp in milliseconds", cause: diagnosis.CauseMalformedToken, figures: []string{"exp", "milliseconds"},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.grantEd, g.with("exp", t0.Add(time.Minute).UnixMilli())) }},
		{name: "unsigned", cause: diagnosis.CauseAlgNone, figures: []string{`alg "none"`},
			call: func(c *diagnosis.Call) { c.Grant = unsigned(t, g) }},
		{name: "HMAC over the public key", cause: diagnosis.CauseKeyConfusion, figures: []string{"HS256", `EdDSA key "g-ed"`, "public encoding"},
			call: func(c *diagnosis.Call) { c.Grant = confused(t, k.grantEd, g) }},
		{name: "alg not pinned", cause: diagnosis.CauseAlgorithmNotAccepted, figures: []string{`alg "ES256"`, "pins EdDSA"},
			call:   func(c *diagnosis.Call) { c.Grant = sign(t, k.grantES, g) },
			target: func(t *diagnosis.Target) { t.Algorithms = []string{token.EdDSA} }},
		{name: "signed by another key", cause: diagnosis.CauseSignatureInvalid, figures: []string{"none of its issuer's 1 EdDSA keys", `kid "g-ed"`},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.evilEd, g) }},
		{name: "DER signature", cause: diagnosis.CauseSignatureInvalid, figures: []string{"ASN.1 DER", "64-byte r||s"},
			call: func(c *diagnosis.Call) {
				input, _, _ := strings.Cut(sign(t, k.grantES, g), ".")
				payload := strings.Split(sign(t, k.grantES, g), ".")[1]
				der := append([]byte{0x30, 0x44, 0x02, 0x20}, make([]byte, 66)...)
				c.Grant = input + "." + payload + "." + b64(der)
			}},
		{name: "kid names no key", cause: diagnosis.CauseUnknownKey, figures: []string{`kid "g-old"`, `key "g-ed"`},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.grantEd, g, "g-old") }},
		{name: "foreign issuer", cause: diagnosis.CauseWrongIssuer, figures: []string{`iss "other.test"`, `trusts "broker.test"`},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.grantEd, g.with("iss", "other.test")) }},
		{name: "other service's grant", cause: diagnosis.CauseWrongAudience, figures: []string{`aud "billing.v1.Ledger"`, `expects "demo.v1.Vault"`},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.grantEd, g.with("aud", "billing.v1.Ledger")) }},
		{name: "expired long ago", cause: diagnosis.CauseTokenExpired, figures: []string{"expired 5m0s before", "30s leeway", "declared 30s, not measured", "lived 5m0s"},
			call: func(c *diagnosis.Call) {
				c.Grant = sign(t, k.grantEd, g.with("iat", t0.Add(-10*time.Minute).Unix(), "nbf", nil, "exp", t0.Add(-5*time.Minute).Unix()))
			}},
		{name: "expired within the declared leeway", cause: diagnosis.CauseTokenExpired, figures: []string{"exp = now - 4s", "less than 4s of leeway", "declared 30s, measured 0s"},
			call: func(c *diagnosis.Call) {
				c.Code, c.Message = codes.Unauthenticated, "token expired"
				c.Identity = sign(t, k.identityEd, id.with("exp", t0.Add(-4*time.Second).Unix()))
			},
			target: func(t *diagnosis.Target) { t.Measured.Leeway, t.Measured.LeewayKnown = 0, true }},
		{name: "issued in the future", cause: diagnosis.CauseTokenNotYetValid, figures: []string{"nbf is 2m0s after", "30s leeway"},
			call: func(c *diagnosis.Call) {
				c.Grant = sign(t, k.grantEd, g.with("nbf", t0.Add(2*time.Minute).Unix()))
			}},
		{name: "grant too long", cause: diagnosis.CauseLifetimeTooLong, figures: []string{"lives 2h0m1s", "1h0m0s", "declared 1h0m0s"},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.grantEd, g.with("exp", t0.Add(2*time.Hour).Unix())) }},
		{name: "no exp", cause: diagnosis.CauseClaimMissing, figures: []string{"no exp claim"},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.grantEd, g.with("exp", nil)) }},
		{name: "grant for bob", cause: diagnosis.CauseSubjectMismatch, figures: []string{`sub "bob"`, `"alice"`},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.grantEd, g.with("sub", "bob")) }},
		{name: "typ refused", cause: diagnosis.CauseWrongType, figures: []string{`typ "JWT"`},
			call: func(c *diagnosis.Call) { c.Message = "unexpected token type" }},
		{name: "revoked", cause: diagnosis.CauseGrantRevoked, figures: []string{`jti "grant-1"`, "revoke"},
			call: func(c *diagnosis.Call) {
				c.Faults = []diagnosis.Fault{{Kind: "revoke", What: "revoked 1 grant"}}
			}},
		{name: "replayed one-shot", cause: diagnosis.CauseGrantReplayed, figures: []string{"tried 2 times", `jti "grant-1"`},
			call: func(c *diagnosis.Call) { c.Message, c.Attempts = "grant already used", 2 }},
		{name: "scope reason", cause: diagnosis.CauseScopeMismatch, figures: []string{"GRANT_SCOPE_MISMATCH", "exp in 5m0s"},
			call: func(c *diagnosis.Call) { c.Reason = "GRANT_SCOPE_MISMATCH" }},
		{name: "skewed service clock", cause: diagnosis.CauseClockSkew, figures: []string{"10m0s ahead", "exp in 5m0s"},
			call: func(c *diagnosis.Call) {
				c.Faults = []diagnosis.Fault{{Kind: "clock-skew", What: "skewed the service's clock (10m0s ahead); it was read 3 times"}}
			}},
		{name: "forged, no keys to tell", cause: diagnosis.CauseTokenMutated, figures: []string{"SIG-001", "not checked (no keys given)"},
			call: func(c *diagnosis.Call) {
				c.Grant = sign(t, k.evilEd, g)
				c.Faults = []diagnosis.Fault{{Kind: "token-mutation", What: "forged the grant of 1 call as SIG-001"}}
			},
			target: func(t *diagnosis.Target) { t.GrantKeys = nil }},
		{name: "register full", cause: diagnosis.CauseServiceReason, figures: []string{"ONE_SHOT_REGISTER_FULL"},
			call: func(c *diagnosis.Call) { c.Code, c.Reason = codes.ResourceExhausted, "ONE_SHOT_REGISTER_FULL" }},
		{name: "valid and refused", cause: diagnosis.CauseUnknown,
			figures: []string{"exp in 5m0s", "alg EdDSA pinned", "aud ok", "iss ok", `signature verified (kid "g-ed")`, "no fault", "scope does not cover"},
			call:    func(c *diagnosis.Call) { c.Message = "method not in scope" }},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, tg := w.call, w.target
			if tc.call != nil {
				tc.call(&c)
			}
			if tc.target != nil {
				tc.target(&tg)
			}
			d := diagnosis.Explain(c, tg)
			t.Logf("%s\nfix: %s", d.Summary, d.Fix)
			assert.Equal(t, tc.cause, d.Cause, d.Summary)
			assert.Equal(t, tc.cause != diagnosis.CauseUnknown, d.Known)
			assert.True(t, strings.HasPrefix(d.Summary, reasonCodeName(c.Code)), d.Summary)
			for _, fig := range tc.figures {
				assert.Contains(t, d.Summary, fig)
			}
			assert.NotEmpty(t, d.Fix)
			requireNoEcho(t, d.Summary+" "+d.Fix, c.Grant, c.Identity)
		})
		seen[tc.cause] = true
	}
	for _, cause := range diagnosis.Causes() {
		assert.True(t, seen[cause], "no case for cause %s", cause)
	}
}

func reasonCodeName(c codes.Code) string {
	return map[codes.Code]string{
		codes.PermissionDenied: "PERMISSION_DENIED", codes.Unauthenticated: "UNAUTHENTICATED",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.Unavailable: "UNAVAILABLE",
		codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	}[c]
}

// TestExplainFigures checks the figures of time causes under a measured clock offset.
func TestExplainFigures(t *testing.T) {
	w := newWorld(t)
	c, tg := w.call, w.target
	c.Code, c.Message = codes.Unauthenticated, "jwt expired"
	tg.Measured.ClockOffset, tg.Measured.ClockOffsetKnown = 10*time.Minute, true
	d := diagnosis.Explain(c, tg)
	require.Equal(t, diagnosis.CauseTokenExpired, d.Cause, d.Summary)
	// The identity (checked first for UNAUTHENTICATED) lives an hour; the grant 5 minutes:
	// the service's clock, 10 minutes ahead, saw the grant expired 5m0s ago.
	assert.Contains(t, d.Summary, "the grant expired 5m0s before")
	assert.Contains(t, d.Summary, "measured at ours +10m0s")
	assert.Contains(t, d.Fix, "10m0s ahead")
}
