package token_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// A time claim is a JSON number of seconds from 0 to the end of year 9999;
// anything else is refused before it becomes a time (finding 5: 1e19 wrapped
// to the far past, 1e308 to "expired 2562047h ago").
func TestNumericTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  error
	}{
		{"1700000000", time.Unix(1700000000, 0), nil},
		{" 1700000000 ", time.Unix(1700000000, 0), nil},
		{"1700000000.5", time.Unix(1700000000, 5e8), nil},
		{"1.7e9", time.Unix(1700000000, 0), nil},
		{"17E8", time.Unix(1700000000, 0), nil},
		{"0", time.Unix(0, 0), nil},
		{"-0", time.Unix(0, 0), nil},
		{"253402300799", token.MaxNumericDate, nil},
		{"253402300798.5", token.MaxNumericDate.Add(-500 * time.Millisecond), nil},

		{"253402300800", time.Time{}, token.ErrTimeRange},
		{"253402300799.5", time.Time{}, token.ErrTimeRange},
		{"2.534023008e11", time.Time{}, token.ErrTimeRange},
		{"-1", time.Time{}, token.ErrTimeRange},
		{"-0.5", time.Time{}, token.ErrTimeRange},
		{"9223372000000000000", time.Time{}, token.ErrTimeRange},
		{"9223372036854775808", time.Time{}, token.ErrTimeRange},
		{"-9223372036854775809", time.Time{}, token.ErrTimeRange},
		{"1e19", time.Time{}, token.ErrTimeRange},
		{"1e308", time.Time{}, token.ErrTimeRange},
		{"1e400", time.Time{}, token.ErrTimeRange},
		{"-1e400", time.Time{}, token.ErrTimeRange},

		{`"1700000000"`, time.Time{}, token.ErrNotNumeric},
		{"true", time.Time{}, token.ErrNotNumeric},
		{"null", time.Time{}, token.ErrNotNumeric},
		{"{}", time.Time{}, token.ErrNotNumeric},
		{"[1]", time.Time{}, token.ErrNotNumeric},
		{"-", time.Time{}, token.ErrNotNumeric},
		{"", time.Time{}, token.ErrNotNumeric},
		{"NaN", time.Time{}, token.ErrNotNumeric},
		{"Infinity", time.Time{}, token.ErrNotNumeric},
		{"0x1p30", time.Time{}, token.ErrNotNumeric},
		{"+1700000000", time.Time{}, token.ErrNotNumeric},
		{"1_700_000_000", time.Time{}, token.ErrNotNumeric},
		{"01700000000", time.Time{}, token.ErrNotNumeric},
		{"1700000000.", time.Time{}, token.ErrNotNumeric},
		{".5", time.Time{}, token.ErrNotNumeric},
		{"1e", time.Time{}, token.ErrNotNumeric},
		{"1 2", time.Time{}, token.ErrNotNumeric},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var nt token.NumericTime
			err := nt.UnmarshalJSON([]byte(tc.in))
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				assert.True(t, nt.IsZero(), "a refused claim leaves the time unset")
				return
			}
			require.NoError(t, err)
			assert.True(t, tc.want.Equal(nt.Time), "got %v", nt.Time)
			assert.Equal(t, time.UTC, nt.Location())
		})
	}

	b, err := json.Marshal(token.At(time.Unix(1700000000, 999e6)))
	require.NoError(t, err)
	assert.Equal(t, "1700000000", string(b), "At truncates to whole seconds")
}

// Every time claim of a signed grant is range-checked, and the refusal is
// GRANT_MALFORMED naming the claim, whatever the verifier's other limits.
func TestGrantTimeClaimsRangeChecked(t *testing.T) {
	f := newFixture(t)
	for _, claim := range []string{"exp", "nbf", "iat"} {
		for _, v := range []any{9223372000000000000, 1e19, 1e308, -1, 253402300800} {
			t.Run(claim, func(t *testing.T) {
				raw := f.signed(f.keys.ed, with(f.claims(), claim, v))
				for name, verify := range map[string]func() error{
					"grant": func() error { _, err := f.verifier().Verify(raw, defaultRequest()); return err },
					"grant without a lifetime limit": func() error {
						_, err := f.verifier(func(c *token.Config) { c.MaxLifetime = 0 }).Parse(raw)
						return err
					},
				} {
					re := requireDenied(t, verify(), reason.GrantMalformed, raw)
					assert.Equal(t, claim, re.Metadata["claim"], name)
					assert.Equal(t, "the "+claim+" claim is not a time from 1970 to year 9999", re.Message, name)
				}
			})
		}
	}

	// The identity verifier shares the check: the caller is unknown, the cause kept.
	raw := craft(t, hdr(token.EdDSA, "ed-1", token.TypeIdentity), with(f.identityClaims(), "exp", 1e19), f.keys.ed)
	_, err := f.identityVerifier().Verify(raw)
	re := requireDenied(t, err, reason.IdentityMalformed, raw)
	assert.Equal(t, string(reason.GrantMalformed), re.Metadata["cause"])
	assert.Equal(t, "exp", re.Metadata["claim"])
}

// The latest representable time is still a time: a grant expiring at the end
// of year 9999 is refused for its lifetime, not as malformed.
func TestGrantTimeClaimAtTheBound(t *testing.T) {
	f := newFixture(t)
	raw := f.signed(f.keys.ed, with(f.claims(), "exp", 253402300799))
	_, err := f.verifier().Verify(raw, defaultRequest())
	requireDenied(t, err, reason.GrantLifetimeExceeded, raw)
}
