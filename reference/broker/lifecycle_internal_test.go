package broker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// TestNamedChecks runs every named transition check against every state,
// including the timer-driven ones no caller can trigger directly.
func TestNamedChecks(t *testing.T) {
	checks := map[string]struct {
		check func(*jitv1.AccessRequest) error
		from  jitv1.State
	}{
		"canReview":   {canReview, jitv1.State_STATE_PENDING},
		"canWithdraw": {canWithdraw, jitv1.State_STATE_PENDING},
		"canExpire":   {canExpire, jitv1.State_STATE_PENDING},
		"canRevoke":   {canRevoke, jitv1.State_STATE_APPROVED},
		"canEnd":      {canEnd, jitv1.State_STATE_APPROVED},
	}
	for name, c := range checks {
		for s := range jitv1.State_name {
			state := jitv1.State(s)
			t.Run(name+"/"+state.String(), func(t *testing.T) {
				err := c.check(&jitv1.AccessRequest{Id: "r1", State: state})
				if state == c.from {
					assert.NoError(t, err)
					return
				}
				assert.ErrorIs(t, err, ErrIllegalTransition)
				assert.Equal(t, codes.FailedPrecondition, status.Code(err))
				assert.Contains(t, err.Error(), "is "+stateName(state))
			})
		}
	}
}

func TestTerminalStates(t *testing.T) {
	for s := range jitv1.State_name {
		state := jitv1.State(s)
		want := state != jitv1.State_STATE_PENDING && state != jitv1.State_STATE_APPROVED
		assert.Equal(t, want, isTerminal(state), state)
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[string]string{"2h0m0s": "2h", "1h30m0s": "1h30m", "1m30s": "1m30s", "5m0s": "5m", "90ms": "90ms"} {
		parsed, err := time.ParseDuration(d)
		assert.NoError(t, err)
		assert.Equal(t, want, human(parsed))
	}
}
