package token_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// `token explain` names the strict-decoding refusals plainly, and never
// shows an absurd time claim as some wrapped-around date.
func TestExplainStrictRefusals(t *testing.T) {
	f := newFixture(t)
	cfg := token.ExplainConfig{
		Grant: f.config(), GrantKeys: f.set.Public(),
		Identity: f.config(func(c *token.Config) { c.Issuer = testIDP }), IdentityKeys: f.set.Public(),
		At: t0,
	}
	now := t0.Unix()
	es, _, err := token.NewIssuer(testIssuer, token.NewKeySet(f.keys.es), f.clock).Grant(f.spec())
	require.NoError(t, err)

	tests := []struct {
		name   string
		raw    string
		reason reason.Reason
		lines  []string
	}{
		{"exp twice", rawPayload(f, object(append(members(f, nil), `"exp":`+itoa64(now+7200))...)), reason.GrantMalformed,
			[]string{"Refused with PERMISSION_DENIED / GRANT_MALFORMED: the token's payload has the exp claim twice: names must be unique."}},
		{"Scope", rawPayload(f, object(append(members(f, nil), `"Scope":{"methods":["/*"]}`)...)), reason.GrantMalformed,
			[]string{`has "Scope", a case variant of the scope claim`}},
		{"exp 1e19", rawPayload(f, object(members(f, map[string]*string{"exp": str("1e19")})...)), reason.GrantMalformed,
			[]string{"Its exp claim is not a time from 1970 to year 9999.", "the exp claim is not a time from 1970 to year 9999"}},
		{"ES256 high-s twin", swapS(t, es), reason.GrantBadSignature, []string{"high-s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := token.Explain(tc.raw, cfg)
			require.NoError(t, err)
			assert.False(t, e.Accepted)
			assert.Equal(t, tc.reason, e.Reason)
			text := strings.Join(e.Lines, "\n")
			for _, want := range tc.lines {
				assert.Contains(t, text, want)
			}
			assert.NotContains(t, text, "0001-")
			assert.NotContains(t, text, "-292277")
		})
	}
}

// Inspect reports an absurd time claim absent instead of wrapping it.
func TestInspectAbsurdTimes(t *testing.T) {
	for _, v := range []any{1e19, 9223372000000000000.0, 1e308, -1.0, 253402300800.0} {
		d := &token.Decoded{Claims: map[string]any{"exp": v}}
		_, ok := d.Time("exp")
		assert.False(t, ok, "%v", v)
	}
	at, ok := (&token.Decoded{Claims: map[string]any{"exp": 1700000000.75}}).Time("exp")
	require.True(t, ok)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), at, "whole seconds, for display")

	f := newFixture(t)
	raw := f.signed(f.keys.ed, with(f.claims(), "exp", 1e19))
	assert.True(t, token.UnverifiedExpiry(raw).IsZero())
}
