package buggy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
)

// answer is the code and reason a call is expected to get.
type answer struct {
	code   codes.Code
	reason reason.Reason
}

var allowed = answer{code: codes.OK}

func denied(r reason.Reason) answer { return answer{code: r.Code(), reason: r} }

// TestEachBugShows makes, for each bug, a call that the bug lets through
// (or answers wrongly), and the same call to the correct service, which
// refuses it as the reference does. Some rows show the bug's limits: the
// hour-leeway service still refuses a grant two hours old.
func TestEachBugShows(t *testing.T) {
	tests := []struct {
		bug, probe   string
		buggy, clean answer
		echoed       bool // the buggy service quotes the token
	}{
		{AlgNone, "grant ALG-001/none", allowed, denied(reason.GrantAlgMismatch), false},
		{AlgNone, "identity ALG-001/none", allowed, denied(reason.IdentityInvalid), false},
		{AlgNone, "grant ALG-001/NONE", denied(reason.GrantAlgMismatch), denied(reason.GrantAlgMismatch), false},
		{HS256PublicKey, "grant ALG-002/raw", allowed, denied(reason.GrantAlgMismatch), false},
		{HS256PublicKey, "grant ALG-002/pem", allowed, denied(reason.GrantAlgMismatch), false},
		{HS256PublicKey, "grant ALG-003/other-key", denied(reason.GrantAlgMismatch), denied(reason.GrantAlgMismatch), false},
		{NoExpCheck, "grant CLM-001/expired", allowed, denied(reason.GrantExpired), false},
		{NoExpCheck, "grant CLM-002/missing", allowed, denied(reason.GrantClaimMissing), false},
		{NoExpCheck, "grant CLM-004/long", denied(reason.GrantLifetimeExceeded), denied(reason.GrantLifetimeExceeded), false},
		{HourLeeway, "grant CLM-001/expired", allowed, denied(reason.GrantExpired), false},
		{HourLeeway, "grant CLM-003/nbf", allowed, denied(reason.GrantNotYetValid), false},
		{HourLeeway, "grant expired 2h ago", denied(reason.GrantExpired), denied(reason.GrantExpired), false},
		{UnknownOnParseError, "grant FMT-001/two", answer{code: codes.Unknown}, denied(reason.GrantMalformed), false},
		{UnknownOnParseError, "identity FMT-002/payload-json", answer{code: codes.Unknown}, denied(reason.IdentityMalformed), false},
		{PDMissingIdentity, "ID-001", answer{code: codes.PermissionDenied}, denied(reason.IdentityMissing), false},
		{PDMissingIdentity, "identity ID-002/basic", denied(reason.IdentityMalformed), denied(reason.IdentityMalformed), false},
		{NoStreamInterceptor, "SCP-004", allowed, denied(reason.IdentityMissing), false},
		{NoStreamInterceptor, "grant missing", denied(reason.GrantMissing), denied(reason.GrantMissing), false},
		{TokenEcho, "grant CLM-005/issuer", denied(reason.GrantIssuerMismatch), denied(reason.GrantIssuerMismatch), true},
		{TokenEcho, "identity SIG-002/payload", denied(reason.IdentityInvalid), denied(reason.IdentityInvalid), true},
		{KidFilePath, "grant KEY-005/traversal", allowed, denied(reason.GrantAlgMismatch), false},
		// The real key under the traversal kid: /dev/null is read as a secret, and the token is not HS256.
		{KidFilePath, "grant KEY-003/traversal", denied(reason.GrantAlgMismatch), denied(reason.GrantUnknownKey), false},
		{NoAudCheck, "grant CLM-006/audience", allowed, denied(reason.GrantAudienceMismatch), false},
		{NoAudCheck, "identity CLM-006/audience", allowed, denied(reason.IdentityInvalid), false},
		{ScopeIgnored, "grant SCP-001/method", allowed, denied(reason.GrantScopeMismatch), false},
		{ScopeIgnored, "SCP-002 List", allowed, denied(reason.GrantScopeMismatch), false},
		{ScopeIgnored, "grant CLM-007/subject", denied(reason.GrantSubjectMismatch), denied(reason.GrantSubjectMismatch), false},
	}
	f := newFixture(t)
	probes := make(map[string]probe)
	for _, p := range catalog(t, f) {
		probes[p.name] = p
	}
	_, clean := startService(t, "", f)
	targets := make(map[string]*target)
	shown := make(map[string]bool)
	for _, tt := range tests {
		if targets[tt.bug] == nil {
			_, targets[tt.bug] = startService(t, tt.bug, f) // one service per bug, for the whole test
		}
		t.Run(tt.bug+"/"+tt.probe, func(t *testing.T) {
			p, ok := probes[tt.probe]
			require.True(t, ok, "no probe %q", tt.probe)
			got := p.run(t, targets[tt.bug])
			assert.Equal(t, tt.buggy, answer{got.code, got.reason}, "with the bug: %s", got.message)
			assert.Equal(t, got.code == codes.OK, got.ran, "the handler runs only for allowed calls")
			assert.Equal(t, tt.echoed, got.echoed, "echo: %s", got.message)

			want := p.run(t, clean)
			assert.Equal(t, tt.clean, answer{want.code, want.reason}, "without the bug: %s", want.message)
			assert.False(t, want.ran, "the correct service never runs the handler for this call")
			assert.False(t, want.echoed)
			if tt.buggy != tt.clean || tt.echoed {
				shown[tt.bug] = true
			}
		})
	}
	for _, bug := range Bugs() {
		assert.True(t, shown[bug], "no row shows %s", bug)
	}
}
