package zoo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// TestJWKSCache checks oauth-scope's key cache against the JWKS server,
// counting fetches: one when cold, none while fresh; an unknown kid
// refetches once and is then remembered as unknown for a while; however
// many unknown kids come, the fetches per window are capped; a retired key
// is refused once the set is fetched again (KEY-004).
func TestJWKSCache(t *testing.T) {
	f := newFixture(t, zoo.OAuthScope)
	tg := f.start(t, zoo.None)
	src := f.conv.Grant.Key
	answer := func(t *testing.T, c call, want codes.Code, fetches int) {
		t.Helper()
		got := tg.do(t, c)
		require.Equal(t, want, got.code, got.msg)
		assert.Equal(t, int64(fetches), f.jwks.Fetches(), "fetches")
	}
	next, err := zoo.GenerateSigner(zoo.RS256, "shop-2026-b")
	require.NoError(t, err)
	signed := func(kid string) call {
		h, c := f.claims(f.conv.Grant, nil)
		h["kid"] = kid
		tok, err := next.Sign(h, c)
		require.NoError(t, err)
		return f.withGrant(t, tok)
	}

	answer(t, f.valid(t), codes.OK, 1) // cold
	answer(t, f.valid(t), codes.OK, 1) // fresh
	answer(t, signed(next.KeyID), codes.Unauthenticated, 2)
	f.jwks.Publish(jose.JSONWebKey{Key: next.Public(), KeyID: next.KeyID, Algorithm: zoo.RS256, Use: "sig"})
	answer(t, signed(next.KeyID), codes.Unauthenticated, 2) // remembered as unknown
	f.clock.Advance(src.UnknownKidTTL)
	answer(t, signed(next.KeyID), codes.OK, 3) // looked up again: the new key

	for i := range src.MaxRefetches {
		answer(t, signed(fmt.Sprintf("unknown-%d", i)), codes.Unauthenticated, min(4+i, src.MaxRefetches))
	}

	f.jwks.Retire(f.conv.Grant.KeyID)
	answer(t, f.valid(t), codes.OK, src.MaxRefetches) // still cached
	f.clock.Advance(src.CacheMaxAge)
	answer(t, f.valid(t), codes.Unauthenticated, src.MaxRefetches+1)
}

// TestJWKSOutage checks oauth-scope when its key source fails: cold it
// answers UNAVAILABLE (OUT-002) until the source is back; warm it keeps
// serving, even past the set's age (OUT-003); a source slower than the
// call's deadline is DEADLINE_EXCEEDED (DL-003).
func TestJWKSOutage(t *testing.T) {
	t.Run("cold", func(t *testing.T) {
		f := newFixture(t, zoo.OAuthScope)
		tg := f.start(t, zoo.None)
		restore := f.jwks.Down()
		got := tg.do(t, f.valid(t))
		assert.Equal(t, codes.Unavailable, got.code, got.msg)
		assert.False(t, got.ran)
		restore()
		assert.Equal(t, codes.OK, tg.do(t, f.valid(t)).code, "a cold cache fetches again on the next call")
	})
	t.Run("warm", func(t *testing.T) {
		f := newFixture(t, zoo.OAuthScope)
		tg := f.start(t, zoo.None)
		require.Equal(t, codes.OK, tg.do(t, f.valid(t)).code)
		defer f.jwks.Down()()
		assert.Equal(t, codes.OK, tg.do(t, f.valid(t)).code)
		f.clock.Advance(f.conv.Grant.Key.CacheMaxAge)
		got := tg.do(t, f.valid(t))
		assert.Equal(t, codes.OK, got.code, "an old set is still used while the source is down: %s", got.msg)
		assert.Equal(t, int64(2), f.jwks.Fetches(), "the old set was due and fetched")
	})
	t.Run("slow", func(t *testing.T) {
		f := newFixture(t, zoo.OAuthScope)
		tg := f.start(t, zoo.None)
		release := f.jwks.Hold()
		defer release()
		c := f.valid(t)
		m := f.methodDesc(t, c.Method)
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), c.md), 200*time.Millisecond)
		defer cancel()
		err := tg.conn.Invoke(ctx, c.Method, requestFor(t, m, c.JSON), responseFor(m))
		assert.Equal(t, codes.DeadlineExceeded, statusCode(err), "%v", err)
		assert.Equal(t, int64(0), tg.HandlerCalls())
	})
}

// TestJWKSMaxAge checks Options.JWKSMaxAge replaces the declared cache age.
func TestJWKSMaxAge(t *testing.T) {
	f := newFixture(t, zoo.OAuthScope)
	tg := f.startWith(t, zoo.None, func(o *zoo.Options) { o.JWKSMaxAge = time.Minute })
	require.Equal(t, codes.OK, tg.do(t, f.valid(t)).code)
	f.clock.Advance(time.Minute - time.Second)
	require.Equal(t, codes.OK, tg.do(t, f.valid(t)).code)
	assert.Equal(t, int64(1), f.jwks.Fetches())
	f.clock.Advance(time.Second)
	require.Equal(t, codes.OK, tg.do(t, f.valid(t)).code)
	assert.Equal(t, int64(2), f.jwks.Fetches(), "a minute old: fetched again")
}
