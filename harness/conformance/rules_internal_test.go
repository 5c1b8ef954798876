package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

// A token shaped like a real one: its payload and signature are long enough to be its own.
const sentToken = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"

func TestJudge(t *testing.T) {
	got := func(code codes.Code, texts ...string) answer {
		return answer{code: code, texts: texts, latency: time.Millisecond}
	}
	base := func(a answer) variant {
		return variant{name: "v", answer: a, sent: []string{sentToken}, bound: time.Second, handlerRuns: 0}
	}
	for _, tt := range []struct {
		name    string
		id      string
		profile Profile
		v       variant
		want    []string
	}{
		{"right code", "ALG-001", TwoToken, base(got(codes.PermissionDenied)), nil},
		{"accepted alg none", "ALG-001", TwoToken, func() variant {
			v := base(got(codes.OK))
			v.handlerRuns = 1
			return v
		}(), []string{RuleNeverOK, RuleHandlerNotRun, RuleExpectedCode}},
		{"UNKNOWN on a malformed token", "FMT-001", TwoToken, base(got(codes.Unknown)), []string{RuleNoUnknownOrInternal, RuleExpectedCode}},
		{"PD for a missing identity", "ID-001", TwoToken, base(got(codes.PermissionDenied)), []string{RulePDAfterIdentity, RuleExpectedCode}},
		{"PD for an unverifiable single token", "SIG-001", SingleToken, base(got(codes.PermissionDenied)), []string{RulePDAfterIdentity, RuleExpectedCode}},
		{"PD for an unverifiable grant beside an identity", "SIG-001", TwoToken, base(got(codes.PermissionDenied)), nil},
		{"PD for an expired single token", "CLM-001", SingleToken, base(got(codes.PermissionDenied)), nil},
		{"an also code", "CLM-001", TwoToken, base(got(codes.Unauthenticated)), nil},
		{"the signature echoed in metadata", "SIG-002", TwoToken,
			base(got(codes.PermissionDenied, "bad signature", "sig", "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg")), []string{RuleNoTokenEcho}},
		{"the whole token in the message", "ID-004", TwoToken,
			base(got(codes.Unauthenticated, "refused "+sentToken)), []string{RuleNoTokenEcho}},
		{"the header alone is no echo", "SIG-002", TwoToken,
			base(got(codes.PermissionDenied, "alg of eyJhbGciOiJFZERTQSJ9")), nil},
		{"too slow", "FMT-003", TwoToken, func() variant {
			v := base(got(codes.PermissionDenied))
			v.latency = 2 * time.Second
			return v
		}(), []string{RuleBoundedTime}},
		{"fetched the trap", "KEY-002", TwoToken, func() variant {
			v := base(got(codes.PermissionDenied))
			v.fetches = 1
			return v
		}(), []string{RuleNoOutboundFetch}},
		{"positive case refused", "OK-001", TwoToken, base(got(codes.PermissionDenied)), []string{RuleExpectedCode}},
		{"handler runs are fine for a client-side case", "DL-001", TwoToken, func() variant {
			v := base(got(codes.DeadlineExceeded))
			v.handlerRuns = 1
			return v
		}(), nil},
		{"setup failure", "CLM-008", TwoToken, variant{name: "replay", setup: "first use refused"}, []string{RuleSetup}},
		{"skipped", "SIG-004", TwoToken, variant{name: "short", skip: "no ES256 key"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := Lookup(tt.id)
			require.True(t, ok)
			v := tt.v
			judge(&c, tt.profile, &v, false)
			if len(tt.want) == 0 {
				assert.Empty(t, v.rules(), "%+v", v.broken)
				return
			}
			assert.Equal(t, tt.want, v.rules())
			for _, b := range v.broken {
				assert.NotEmpty(t, b.why, b.rule)
				assert.NotContains(t, b.why, "c2lnbmF0dXJl", "a rule's words never quote the token")
			}
		})
	}
}

func TestEchoAndExcerpt(t *testing.T) {
	assert.False(t, echoed([]string{"fine"}, []string{strings.Repeat(".", 64<<10)}), "64 KiB of dots has no part to echo")
	assert.True(t, echoed([]string{"x eyJzdWIiOiJhbGljZSIsImV4cCI6MX0 y"}, []string{sentToken}))

	got := excerpt("the grant "+sentToken+" expired; also eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ. \n and more", []string{sentToken})
	assert.Equal(t, "the grant [token] expired; also [token] and more", got)
	assert.Equal(t, "signature [token]", excerpt("signature c2lnbmF0dXJlLW9mLXRoZS10b2tlbg", []string{sentToken}))
	long := excerpt(strings.Repeat("é", 500), nil)
	assert.Equal(t, maxExcerpt, len([]rune(long)))
	assert.True(t, strings.HasSuffix(long, "…"))
}
