package diagnosis_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/diagnosis"
)

// TestRedaction: whatever part of a token the target's message echoes, the
// summary and the fix show none of it, and keep the message's other words.
func TestRedaction(t *testing.T) {
	w := newWorld(t)
	grant, identity := w.call.Grant, w.call.Identity
	gSegs, iSegs := strings.Split(grant, "."), strings.Split(identity, ".")
	opaque := "opaque-reference-7f3a9c"
	foreign := sign(t, w.keys.evilEd, grantClaims().with("sub", "mallory"))
	cases := []struct {
		name, message string
		call          func(c *diagnosis.Call)
		keep          []string
	}{
		{name: "the whole grant", message: "invalid token " + grant + " rejected", keep: []string{"invalid token", "rejected"}},
		{name: "the grant's payload, cut", message: "bad claims in " + gSegs[1][:30] + "... (truncated)", keep: []string{"bad claims in", "(truncated)"}},
		{name: "the grant's signature", message: "signature " + gSegs[2] + " does not verify", keep: []string{"does not verify"}},
		{name: "a run inside a longer run", message: "token=xx" + gSegs[1][7:40] + "yy expired", keep: []string{"token=", "expired"}},
		{name: "the identity token as a header", message: "authorization: Bearer " + identity, keep: []string{"authorization: Bearer"}},
		{name: "the identity token's payload", message: "sub unknown in " + iSegs[1], keep: []string{"sub unknown in"}},
		{name: "a token that is not ours", message: "expected " + foreign, keep: []string{"expected"}},
		{name: "an opaque token we sent", message: "unknown reference " + opaque + "!",
			call: func(c *diagnosis.Call) { c.Grant = opaque }, keep: []string{"unknown reference", "!"}},
		{name: "a reason echoing the token", message: "denied",
			call: func(c *diagnosis.Call) { c.Reason = "BAD_" + gSegs[2] }, keep: []string{"denied"}},
		{name: "a fault's words echoing the token", message: "denied",
			call: func(c *diagnosis.Call) {
				c.Faults = []diagnosis.Fault{{Kind: "clock-skew", What: "replaced " + grant}}
			}, keep: []string{"denied"}},
		{name: "words that only look long", message: "method /google.cloud.secretmanager.v1.SecretManagerService/AccessSecretVersion not allowed",
			keep: []string{"SecretManagerService/AccessSecretVersion not allowed"}},
	}
	for _, tc := range cases {
		for _, code := range []codes.Code{codes.PermissionDenied, codes.Unauthenticated, codes.Unavailable, codes.DeadlineExceeded} {
			t.Run(tc.name+"/"+code.String(), func(t *testing.T) {
				c := w.call
				c.Code, c.Message = code, tc.message
				if tc.call != nil {
					tc.call(&c)
				}
				d := diagnosis.Explain(c, w.target)
				requireNoEcho(t, d.Summary+"\n"+d.Fix, c.Grant, c.Identity, foreign)
				for _, k := range tc.keep {
					assert.Contains(t, d.Summary, k)
				}
			})
		}
	}
}

// TestRedactionOfLongMessages: a message far longer than a summary quotes is
// cut after it is redacted, so a token straddling the cut does not leak either.
func TestRedactionOfLongMessages(t *testing.T) {
	w := newWorld(t)
	c := w.call
	c.Message = strings.Repeat("padding ", 500) + c.Grant + strings.Repeat(" tail", 100)
	d := diagnosis.Explain(c, w.target)
	requireNoEcho(t, d.Summary+"\n"+d.Fix, c.Grant, c.Identity)
	assert.Contains(t, d.Summary, "'padding padding")
	assert.Less(t, len(d.Summary), 2000)
}
