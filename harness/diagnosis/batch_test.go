package diagnosis_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/diagnosis"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// TestEveryFailureIsExplained: a seeded batch of random-ish failed calls,
// over random targets, each gets a diagnosis with a summary and a fix, known
// or plainly unknown, on one line, opening with the code, naming a listed
// cause, and showing no part of a token sent.
func TestEveryFailureIsExplained(t *testing.T) {
	w := newWorld(t)
	k := w.keys
	g, id := grantClaims(), identityClaims()
	tokens := []string{
		"", "", w.call.Grant, w.call.Identity, w.call.Grant,
		sign(t, k.grantEd, g.with("exp", t0.Add(-time.Minute).Unix())),
		sign(t, k.grantEd, g.with("exp", t0.Add(-10*time.Second).Unix())),
		sign(t, k.grantEd, g.with("nbf", t0.Add(time.Minute).Unix())),
		sign(t, k.grantEd, g.with("exp", t0.Add(3*time.Hour).Unix())),
		sign(t, k.grantEd, g.with("aud", []string{"a", "b"})),
		sign(t, k.grantEd, g.with("aud", 7)),
		sign(t, k.grantEd, g.with("exp", nil, "iat", nil, "nbf", nil)),
		sign(t, k.grantES, g.with("sub", "bob")),
		sign(t, k.identityEd, id.with("exp", t0.Add(-time.Hour).Unix())),
		sign(t, k.evilEd, g), sign(t, k.hs, g), confused(t, k.grantEd, g), unsigned(t, g),
		sign(t, k.grantEd, g, "nope"),
		raw(t, k.grantEd, `{"alg":"EdDSA","Alg":"HS256"}`, `{}`),
		raw(t, k.grantEd, `{"alg":"EdDSA"}`, `{"scope":{"m":1,"m":2}}`),
		raw(t, k.grantEd, `{"alg":"EdDSA"}`, `[1,2]`),
		raw(t, k.grantEd, `{"alg":"EdDSA"}`, "{\"sub\":\"\xff\"}"),
		"x", "a.b.c", "..", "eyJ.eyJ.", "Bearer abc def ghi", "\xff\xfe\x00garbage-token-value",
		strings.Repeat("A", 70000) + "." + strings.Repeat("B", 10) + ".",
	}
	messages := []string{"", "", "token expired", "permission denied", "invalid audience", "bad issuer",
		"missing claim exp", "not before", "scope does not allow this", "revoked", "signature invalid",
		"unknown kid", "malformed jwt", "algorithm not allowed", "one-shot grant already used",
		"Unauthenticated", "lifetime too long", "jwks fetch failed", "\x00\n\tcontrol \u2028 chars", strings.Repeat("long ", 2000)}
	reasons := []string{"", "", "", "INVALID_TOKEN", "TOKEN_EXPIRED", "weird reason"}
	for _, info := range reason.Catalog() {
		reasons = append(reasons, string(info.Reason))
	}
	faults := []diagnosis.Fault{
		{Kind: "grpc-fault", What: "aborted /demo.v1.Vault/Read with PERMISSION_DENIED"},
		{Kind: "grpc-fault", What: "abort:code=UNAVAILABLE"},
		{Kind: "grpc-fault", What: "latency:delay=2s"},
		{Kind: "grpc-fault", What: "reset"},
		{Kind: "network", What: "added 1s latency to client-service"},
		{Kind: "network", What: "blackhole on client-broker"},
		{Kind: "network", What: "reset on service-broker"},
		{Kind: "network-partition"}, {Kind: "key-source-outage"}, {Kind: "broker-down"},
		{Kind: "token-mutation", What: "forged as CLM-001"}, {Kind: "clock-skew", What: "service 2m0s ahead"},
		{Kind: "approval", What: "denied 3 requests"}, {Kind: "short-deadline"}, {Kind: "revoke"},
		{Kind: "verifier-wrong-key"}, {Kind: "verifier-algorithms"}, {Kind: "credentials-missing"},
		{Kind: "something-new", What: "does things"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return rng.IntN(n) }
	dur := func(max time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(max))) }
	causes := diagnosis.Causes()
	seen := map[string]int{}
	for i := range 1500 {
		tg := diagnosis.Target{
			SingleToken: pick(3) == 0, Leeway: []time.Duration{0, time.Second, time.Minute}[pick(3)],
			MaxLifetime: []time.Duration{0, time.Hour}[pick(2)],
			Algorithms:  [][]string{nil, {token.EdDSA}, {token.ES256, token.HS256}}[pick(3)],
			Audience:    []string{"", audience}[pick(2)],
			GrantIssuer: []string{"", grantIssuer}[pick(2)], IdentityIssuer: []string{"", identityIssuer}[pick(2)],
		}
		if pick(2) == 0 {
			tg.GrantKeys, tg.IdentityKeys = w.target.GrantKeys, w.target.IdentityKeys
		}
		if pick(2) == 0 {
			tg.Measured = diagnosis.Measured{Leeway: dur(time.Minute), LeewayKnown: pick(2) == 0,
				ClockOffset: dur(20*time.Minute) - 10*time.Minute, ClockOffsetKnown: pick(2) == 0,
				MaxLifetime: dur(2 * time.Hour), MaxLifetimeKnown: pick(2) == 0}
		}
		c := diagnosis.Call{
			Code: codes.Code(pick(17)), Phase: []string{"", diagnosis.PhaseCall, diagnosis.PhaseGrant}[pick(3)],
			Sent: []time.Time{{}, t0, t0.Add(-time.Hour)}[pick(3)], Reason: reasons[pick(len(reasons))],
			Identity: tokens[pick(len(tokens))], Grant: tokens[pick(len(tokens))],
			Deadline: dur(3 * time.Second), Latency: dur(3 * time.Second), GrantWait: dur(3 * time.Second),
			Attempts: pick(4), RetriesExtendDeadline: pick(2) == 0,
		}
		c.Message = messages[pick(len(messages))]
		if pick(4) == 0 {
			c.Message += " " + []string{c.Grant, c.Identity}[pick(2)]
		}
		for range pick(3) {
			c.Faults = append(c.Faults, faults[pick(len(faults))])
		}
		d := diagnosis.Explain(c, tg)
		seen[d.Cause]++
		require.NotEmpty(t, d.Summary, "call %d: %+v", i, c)
		require.NotEmpty(t, d.Fix, "call %d: %s", i, d.Summary)
		require.Equal(t, d.Cause != diagnosis.CauseUnknown, d.Known, "call %d: %s", i, d.Summary)
		require.Contains(t, causes, d.Cause)
		require.True(t, strings.HasPrefix(d.Summary, reason.CodeName(c.Code)), "call %d: %s", i, d.Summary)
		require.NotContains(t, d.Summary, "\n")
		require.NotContains(t, d.Fix, "\n")
		requireNoEcho(t, d.Summary+"\n"+d.Fix, c.Grant, c.Identity)
	}
	assert.Greater(t, seen[diagnosis.CauseUnknown], 0, "the batch never reached an unknown diagnosis: %v", seen)
	known := 0
	for cause := range seen {
		if cause != diagnosis.CauseUnknown {
			known++
		}
	}
	t.Logf("causes reached: %v", seen)
	assert.Greater(t, known, len(causes)/2, "the batch reached too few causes to mean much: %v", seen)
}
