package token_test

import (
	"crypto/elliptic"
	"encoding/base64"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// The register forgets an id exactly after its forget instant (exp +
// leeway), not at it and not later, and a full register says so with
// RESOURCE_EXHAUSTED instead of calling a fresh grant replayed (finding 8).
func TestReplayGuardFreesSpaceExactlyAfterForget(t *testing.T) {
	g := token.NewReplayGuard(2)
	forgetA, forgetB := t0.Add(time.Minute), t0.Add(2*time.Minute)
	require.NoError(t, g.Use("a", forgetA, t0))
	require.NoError(t, g.Use("b", forgetB, t0))

	tests := []struct {
		at       time.Time
		held     int
		aReplay  bool // a is still refused as replayed
		freshErr reason.Reason
	}{
		{t0, 2, true, reason.OneShotRegisterFull},
		{forgetA.Add(-time.Nanosecond), 2, true, reason.OneShotRegisterFull},
		{forgetA, 2, true, reason.OneShotRegisterFull},
		{forgetA.Add(time.Nanosecond), 1, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.at.Sub(t0).String(), func(t *testing.T) {
			assert.Equal(t, tc.held, g.Len(tc.at))
			assert.Equal(t, tc.aReplay, g.Used("a", tc.at))
			if !tc.aReplay {
				return
			}
			err := g.Use("a", forgetA, tc.at)
			assert.Equal(t, reason.GrantReplayed, reason.Of(err))
			err = g.Use("fresh", forgetB, tc.at)
			assert.Equal(t, tc.freshErr, reason.Of(err))
			assert.Equal(t, codes.ResourceExhausted, status.Code(err))
		})
	}
	// Space freed by a's expiry takes a fresh id, and the register is full again.
	require.NoError(t, g.Use("fresh", forgetB, forgetA.Add(time.Nanosecond)))
	assert.Equal(t, reason.OneShotRegisterFull, reason.Of(g.Use("another", forgetB, forgetA.Add(time.Nanosecond))))
	assert.Zero(t, g.Len(forgetB.Add(time.Nanosecond)))
}

// Ids are forgotten in expiry order whatever order they were used in: at any
// instant the register holds exactly the ids whose forget time is not past.
func TestReplayGuardForgetsInExpiryOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 500
	g := token.NewReplayGuard(n)
	forgets := make([]time.Time, n)
	for i := range forgets {
		forgets[i] = t0.Add(time.Duration(rng.IntN(600)) * time.Second)
		require.NoError(t, g.Use(fmt.Sprint("id-", i), forgets[i], t0))
	}
	for at := t0; !at.After(t0.Add(601 * time.Second)); at = at.Add(7 * time.Second) {
		want := 0
		for _, f := range forgets {
			if !at.After(f) {
				want++
			}
		}
		require.Equal(t, want, g.Len(at), "held at %s", at.Sub(t0))
		for i, f := range forgets {
			require.Equal(t, !at.After(f), g.Used(fmt.Sprint("id-", i), at), "id-%d forget %s at %s", i, f.Sub(t0), at.Sub(t0))
		}
	}
}

// Through the verifier: the register holds a one-shot grant's id until the
// grant's exp plus the verifier's leeway, the last instant it accepts it.
func TestOneShotRegisterBoundedByGrantExpiry(t *testing.T) {
	for _, lw := range []time.Duration{0, 10 * time.Second, 2 * time.Minute} {
		t.Run(fmt.Sprint("leeway ", lw), func(t *testing.T) {
			f := newFixture(t)
			guard := token.NewReplayGuard(1)
			v, err := token.NewGrantVerifier(f.set.Public(), f.config(func(c *token.Config) { c.Leeway = lw }), token.WithReplayGuard(guard))
			require.NoError(t, err)
			first := f.grant(func(s *token.GrantSpec) { s.OneShot, s.TTL = true, time.Minute })
			_, err = v.Verify(first, defaultRequest())
			require.NoError(t, err)
			last := t0.Add(time.Minute + v.Leeway())
			f.clock.Advance(last.Sub(t0))
			assert.Equal(t, 1, guard.Len(f.clock.Now()))
			next := f.grant(func(s *token.GrantSpec) { s.OneShot = true })
			_, err = v.Verify(next, defaultRequest())
			requireDenied(t, err, reason.OneShotRegisterFull, next)
			f.clock.Advance(time.Nanosecond)
			_, err = v.Verify(next, defaultRequest())
			require.NoError(t, err)
		})
	}
}

// Check leaves a one-shot grant unused (refusing one already used); Use uses
// it up once (finding 7).
func TestCheckThenUse(t *testing.T) {
	f := newFixture(t)
	v := f.verifier()
	raw := f.grant(func(s *token.GrantSpec) { s.OneShot, s.ID = true, "once" })
	for range 3 {
		g, err := v.Check(raw, defaultRequest())
		require.NoError(t, err, "checking does not use the grant")
		require.True(t, g.OneShot)
	}
	g, err := v.Check(raw, defaultRequest())
	require.NoError(t, err)
	require.NoError(t, v.Use(g))
	re := requireDenied(t, v.Use(g), reason.GrantReplayed, raw)
	assert.Equal(t, "once", re.Metadata["grant_id"])
	_, err = v.Check(raw, defaultRequest())
	requireDenied(t, err, reason.GrantReplayed, raw)

	// A grant that is not one-shot needs no use and is never refused as replayed.
	many := f.grant()
	g, err = v.Check(many, defaultRequest())
	require.NoError(t, err)
	require.NoError(t, v.Use(g))
	require.NoError(t, v.Use(g))
}

// The register is keyed on the grant's id, not its text: the same grant id
// signed again, or an ECDSA signature turned into its twin (r, n−s), is a
// different token text for the same grant and must not get a second use. A
// verifier that refuses high-s twins outright refuses the twin for its
// signature; one that accepts them must refuse it as replayed.
func TestOneShotKeyedOnID(t *testing.T) {
	f := newFixture(t)
	claims := with(f.claims(), "one_shot", true, "jti", "once")
	raw := f.signed(f.keys.es, claims)
	twin := esTwin(t, raw)
	require.NotEqual(t, raw, twin)
	reissued := f.signed(f.keys.es, claims) // ECDSA signs with a fresh nonce
	require.NotEqual(t, raw, reissued)
	pinES := func(c *token.Config) { c.Algorithms = []string{token.ES256} }

	tests := []struct {
		name  string
		other string
		alone bool // the variant must verify on its own
	}{
		{"re-issued with the same jti", reissued, true},
		{"re-signed high-s twin", twin, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, aloneErr := f.verifier(pinES).Verify(tc.other, defaultRequest())
			if tc.alone {
				require.NoError(t, aloneErr, "the variant verifies on a fresh verifier, so only the register can refuse it")
			}
			v := f.verifier(pinES)
			_, err := v.Verify(raw, defaultRequest())
			require.NoError(t, err)
			_, err = v.Verify(tc.other, defaultRequest())
			if aloneErr != nil {
				requireDenied(t, err, reason.Of(aloneErr), tc.other)
				return
			}
			re := requireDenied(t, err, reason.GrantReplayed, tc.other)
			assert.Equal(t, "once", re.Metadata["grant_id"])
		})
	}
}

// esTwin returns raw, an ES256 token, with its signature (r, s) replaced by
// (r, n−s), which verifies just as well.
func esTwin(tb testing.TB, raw string) string {
	tb.Helper()
	h, p, s := parts(tb, raw)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(tb, err)
	require.Len(tb, sig, 64)
	n := elliptic.P256().Params().N
	flipped := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:]))
	out := append([]byte{}, sig[:32]...)
	out = append(out, flipped.FillBytes(make([]byte, 32))...)
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(out)
}
