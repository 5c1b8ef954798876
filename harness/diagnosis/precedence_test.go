package diagnosis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/diagnosis"
)

// TestPrecedence pins which cause wins when the evidence points several ways.
func TestPrecedence(t *testing.T) {
	w := newWorld(t)
	k := w.keys
	g, id := grantClaims(), identityClaims()
	expiredGrant := sign(t, k.grantEd, g.with("exp", t0.Add(-time.Hour).Unix(), "iat", t0.Add(-2*time.Hour).Unix(), "nbf", nil))
	expiredIdentity := sign(t, k.identityEd, id.with("exp", t0.Add(-time.Hour).Unix(), "iat", t0.Add(-2*time.Hour).Unix()))
	cases := []struct {
		name    string
		call    func(c *diagnosis.Call)
		target  func(t *diagnosis.Target)
		cause   string
		figures []string
	}{
		{name: "a missing credential beats the message's words", cause: diagnosis.CauseCredentialsMissing, figures: []string{"no identity token was attached", "authorization"},
			call: func(c *diagnosis.Call) {
				c.Code, c.Identity, c.Message = codes.Unauthenticated, "", "token expired: bad signature"
			}},
		{name: "token contents beat a catalog reason", cause: diagnosis.CauseTokenExpired, figures: []string{"the grant expired 1h0m0s before"},
			call: func(c *diagnosis.Call) { c.Reason, c.Grant = "GRANT_SCOPE_MISMATCH", expiredGrant }},
		{name: "a malformed token beats its own expiry", cause: diagnosis.CauseMalformedToken, figures: []string{"not a JSON number"},
			call: func(c *diagnosis.Call) {
				c.Grant = sign(t, k.grantEd, g.with("exp", "1700000000", "nbf", t0.Add(time.Hour).Unix()))
			}},
		{name: "UNAUTHENTICATED names the identity first", cause: diagnosis.CauseTokenExpired, figures: []string{"the identity token expired"},
			call: func(c *diagnosis.Call) {
				c.Code, c.Grant, c.Identity = codes.Unauthenticated, expiredGrant, expiredIdentity
			}},
		{name: "PERMISSION_DENIED names the grant first", cause: diagnosis.CauseTokenExpired, figures: []string{"the grant expired"},
			call: func(c *diagnosis.Call) { c.Grant, c.Identity = expiredGrant, expiredIdentity }},
		{name: "an abort with the call's code beats the tokens", cause: diagnosis.CauseProxyAbort, figures: []string{"PERMISSION_DENIED before the service saw it"},
			call: func(c *diagnosis.Call) {
				c.Grant = expiredGrant
				c.Faults = []diagnosis.Fault{{Kind: "grpc-fault", What: "abort:code=PERMISSION_DENIED,methods=/demo.v1.Vault/*"}}
			}},
		{name: "an abort with another code does not explain", cause: diagnosis.CauseTokenExpired,
			call: func(c *diagnosis.Call) {
				c.Grant = expiredGrant
				c.Faults = []diagnosis.Fault{{Kind: "grpc-fault", What: "aborted with UNAVAILABLE", Code: codes.Unavailable}}
			}},
		{name: "retries sharing one deadline beat a slow approval", cause: diagnosis.CauseRetriesShareDeadline,
			call: func(c *diagnosis.Call) {
				c.Code, c.Attempts, c.Deadline, c.GrantWait, c.Latency = codes.DeadlineExceeded, 3, 2*time.Second, 1800*time.Millisecond, 200*time.Millisecond
			}},
		{name: "a slow approval beats retries with deadlines of their own", cause: diagnosis.CauseApprovalSlower,
			call: func(c *diagnosis.Call) {
				c.Code, c.Attempts, c.RetriesExtendDeadline, c.Deadline, c.GrantWait = codes.DeadlineExceeded, 3, true, 2*time.Second, 1800*time.Millisecond
			}},
		{name: "retries that extend the deadline do not share it", cause: diagnosis.CauseDeadlineTooShort,
			call: func(c *diagnosis.Call) {
				c.Code, c.Attempts, c.RetriesExtendDeadline, c.Deadline, c.Latency = codes.DeadlineExceeded, 3, true, time.Second, time.Second
			}},
		{name: "a latency fault beats a short deadline", cause: diagnosis.CauseNetworkFault,
			call: func(c *diagnosis.Call) {
				c.Code, c.Deadline, c.Latency = codes.DeadlineExceeded, time.Second, time.Second
				c.Faults = []diagnosis.Fault{{Kind: "network-latency", What: "2s on client-service"}}
			}},
		{name: "a fault on the broker's link does not explain the call", cause: diagnosis.CauseDeadlineTooShort,
			call: func(c *diagnosis.Call) {
				c.Code, c.Deadline, c.Latency = codes.DeadlineExceeded, time.Second, time.Second
				c.Faults = []diagnosis.Fault{{Kind: "network", What: "added 2s latency to client-broker"}}
			}},
		{name: "a key-source fault beats the message's words", cause: diagnosis.CauseKeySourceUnavailable, figures: []string{"valid by every check", "key-source-outage"},
			call: func(c *diagnosis.Call) {
				c.Message = "signature verification failed"
				c.Faults = []diagnosis.Fault{{Kind: "key-source-outage", What: "the JWKS endpoint answers 503"}}
			}},
		{name: "words decide when the tokens are valid", cause: diagnosis.CauseWrongAudience, figures: []string{`aud "demo.v1.Vault", which the config declares`},
			call: func(c *diagnosis.Call) { c.Message = "invalid audience" }},
		{name: "words of expiry on a valid token point at the service's clock", cause: diagnosis.CauseTokenExpired, figures: []string{"in 5m0s", "at least 5m0s ahead"},
			call: func(c *diagnosis.Call) { c.Message = "Token is expired" }},
		{name: "words with a clock fault in force name the fault", cause: diagnosis.CauseTokenExpired, figures: []string{"clock-skew: skewed the service's clock"},
			call: func(c *diagnosis.Call) {
				c.Message = "token expired"
				c.Faults = []diagnosis.Fault{{Kind: "clock-skew", What: "skewed the service's clock (10m0s ahead)"}}
			}},
		{name: "a foreign reason is read for words", cause: diagnosis.CauseWrongIssuer, figures: []string{`iss "broker.test", which the config declares`},
			call: func(c *diagnosis.Call) { c.Reason = "INVALID_ISSUER" }},
		{name: "single token: only the grant matters", cause: diagnosis.CauseUnknown, figures: []string{"the grant (exp in 5m0s"},
			call:   func(c *diagnosis.Call) { c.Identity = "" },
			target: func(t *diagnosis.Target) { t.SingleToken = true }},
		{name: "single token: the one token may come as Identity", cause: diagnosis.CauseWrongAudience, figures: []string{"the grant has aud"},
			call: func(c *diagnosis.Call) {
				c.Identity, c.Grant = sign(t, k.grantEd, g.with("aud", "x")), ""
			},
			target: func(t *diagnosis.Target) { t.SingleToken = true }},
		{name: "swapped tokens", cause: diagnosis.CauseWrongType, figures: []string{"swapped", `in x-jit-grant carries iss "idp.test"`},
			call: func(c *diagnosis.Call) {
				c.Code, c.Grant, c.Identity = codes.Unauthenticated, c.Identity, c.Grant
			}},
		{name: "an identity token sent as the grant", cause: diagnosis.CauseWrongType, figures: []string{"is an identity token sent in the wrong header"},
			call: func(c *diagnosis.Call) { c.Grant = c.Identity }},
		{name: "signed with the other issuer's key", cause: diagnosis.CauseSignatureInvalid, figures: []string{`other issuer's key "i-ed"`},
			call: func(c *diagnosis.Call) { c.Grant = sign(t, k.identityEd, g, "g-ed") }},
		{name: "an HMAC key of the issuer is no confusion", cause: diagnosis.CauseAlgorithmNotAccepted, figures: []string{`alg "HS256"`},
			call:   func(c *diagnosis.Call) { c.Grant = sign(t, k.hs, g) },
			target: func(t *diagnosis.Target) { t.GrantKeys.Add(k.hs) }},
		{name: "without keys an HS token is not pinned", cause: diagnosis.CauseAlgorithmNotAccepted,
			call:   func(c *diagnosis.Call) { c.Grant = confused(t, k.grantEd, g) },
			target: func(t *diagnosis.Target) { t.GrantKeys = nil }},
		{name: "denied in the grant phase is the reviewer, not the tokens", cause: diagnosis.CauseApprovalDenied,
			call: func(c *diagnosis.Call) { c.Phase, c.Grant, c.Message = diagnosis.PhaseGrant, "", "denied: audience" }},
		{name: "DEADLINE_EXCEEDED far before the deadline is unknown", cause: diagnosis.CauseUnknown, figures: []string{"ended after 100ms of its 5s deadline"},
			call: func(c *diagnosis.Call) { c.Code, c.Latency = codes.DeadlineExceeded, 100*time.Millisecond }},
		{name: "a measured limit beats the declared one", cause: diagnosis.CauseLifetimeTooLong, figures: []string{"lives 5m1s", "the 2m0s the service accepts (declared none, measured 2m0s)"},
			target: func(t *diagnosis.Target) {
				t.MaxLifetime, t.Measured.MaxLifetime, t.Measured.MaxLifetimeKnown = 0, 2*time.Minute, true
			}},
		{name: "a measured leeway wider than declared", cause: diagnosis.CauseUnknown, figures: []string{"exp 40s ago"},
			call: func(c *diagnosis.Call) {
				c.Grant = sign(t, k.grantEd, g.with("exp", t0.Add(-40*time.Second).Unix(), "iat", t0.Add(-time.Minute).Unix(), "nbf", nil))
			},
			target: func(t *diagnosis.Target) { t.Measured.Leeway, t.Measured.LeewayKnown = time.Minute, true }},
		{name: "words of a bad signature without keys", cause: diagnosis.CauseSignatureInvalid, figures: []string{"could not be checked here (no keys given)", "altered"},
			call:   func(c *diagnosis.Call) { c.Message = "invalid signature" },
			target: func(t *diagnosis.Target) { t.GrantKeys, t.IdentityKeys = nil, nil }},
		{name: "words of a bad signature with the key verifying", cause: diagnosis.CauseSignatureInvalid, figures: []string{`verifies with the declared key "g-ed"`, "stale key set"},
			call: func(c *diagnosis.Call) { c.Message = "invalid signature" }},
		{name: "unknown send time leaves times unjudged", cause: diagnosis.CauseUnknown, figures: []string{"times not judged"},
			call: func(c *diagnosis.Call) { c.Sent, c.Grant = time.Time{}, expiredGrant }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
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
			for _, fig := range tc.figures {
				assert.Contains(t, d.Summary, fig)
			}
		})
	}
}
