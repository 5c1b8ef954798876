package zoo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fuzzMember is one member's correct guard and valid credentials.
type fuzzMember struct {
	conv     Convention
	guard    guard
	identity string // a valid identity token, "" for single-token
	grant    string // a valid grant
}

// FuzzGrant sends any text as the grant (the single token of oauth-scope)
// of every member's correct build, beside a valid identity: it never
// panics, never passes unless it is the valid grant itself, and is always
// refused with a credential code.
func FuzzGrant(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var members []fuzzMember
	for _, k := range Kinds() {
		conv, err := Describe(k)
		require.NoError(f, err)
		keys, err := GenerateKeys(k, f.TempDir())
		require.NoError(f, err)
		opts := Options{KeysDir: keys.Dir, Clock: func() time.Time { return now }}
		if keys.JWKS != nil {
			srv, err := NewJWKSServer(*keys.JWKS)
			require.NoError(f, err)
			f.Cleanup(func() { _ = srv.Close() })
			opts.JWKSURL = srv.URL
		}
		_, g, err := builders[k](None, opts.withDefaults())
		require.NoError(f, err)
		m := fuzzMember{conv: conv, guard: g}
		if m.grant, err = keys.Grant.Sign(conv.Grant.ValidHeader(), conv.Grant.ValidClaims(now)); err != nil {
			f.Fatal(err)
		}
		if conv.Identity != nil {
			if m.identity, err = keys.Identity.Sign(conv.Identity.ValidHeader(), conv.Identity.ValidClaims(now)); err != nil {
				f.Fatal(err)
			}
		}
		members = append(members, m)
		f.Add(uint8(len(members)-1), m.grant)
	}
	for _, seed := range []string{"", ".", "..", "a.b", "a.b.c", strings.Repeat(".", 1024), "eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiIxIn0.AAAA"} {
		f.Add(uint8(0), seed)
	}
	f.Fuzz(func(t *testing.T, which uint8, grant string) {
		m := members[int(which)%len(members)]
		md := metadata.MD{}
		if m.identity != "" {
			md.Append(m.conv.Identity.Header, m.conv.Identity.Value(m.identity))
		}
		md.Append(m.conv.Grant.Header, m.conv.Grant.Value(grant))
		ctx, cancel := context.WithTimeout(metadata.NewIncomingContext(context.Background(), md), 10*time.Second)
		defer cancel()
		_, err := m.guard.authorize(ctx, m.conv.Unary.Method)
		if err == nil {
			if grant != m.grant {
				t.Fatalf("%s accepted a grant that is not the valid one", m.conv.Kind)
			}
			return
		}
		switch code := status.Code(err); code {
		case codes.Unauthenticated, codes.PermissionDenied:
		default:
			t.Fatalf("%s answered %s: %v", m.conv.Kind, code, err)
		}
	})
}
