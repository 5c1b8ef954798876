package harness

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
)

func TestTourEveryStepGetsItsExpectedOutcome(t *testing.T) {
	outcomes, err := RunTour(context.Background())
	require.NoError(t, err)
	require.Len(t, outcomes, len(TourSteps()))
	for _, o := range outcomes {
		assert.True(t, o.Pass(), "%s: got %s %s (%s), handler ran %v", o.ID, o.Details.Code, o.Details.Reason, o.Details.Message, o.HandlerRan)
		assert.Equal(t, o.TourStep.Code == codes.OK, o.HandlerRan, "%s: the handler runs exactly for allowed calls", o.ID)
	}
	var buf bytes.Buffer
	WriteTour(&buf, outcomes)
	assert.Contains(t, buf.String(), "12 of 12 steps gave the expected code and reason.")
}

func TestTourOutcomeFailsOnWrongReasonOrHandlerRun(t *testing.T) {
	step := TourStep{ID: "x", Code: codes.PermissionDenied, Reason: reason.GrantExpired}
	cases := []struct {
		name string
		got  reason.Details
		ran  bool
		pass bool
	}{
		{"match", reason.Details{Code: codes.PermissionDenied, Reason: reason.GrantExpired}, false, true},
		{"other reason", reason.Details{Code: codes.PermissionDenied, Reason: reason.GrantRevoked}, false, false},
		{"other code", reason.Details{Code: codes.Unauthenticated, Reason: reason.GrantExpired}, false, false},
		{"handler ran", reason.Details{Code: codes.PermissionDenied, Reason: reason.GrantExpired}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := TourOutcome{TourStep: step, Result: Result{Details: c.got}, HandlerRan: c.ran}
			assert.Equal(t, c.pass, o.Pass())
			var buf bytes.Buffer
			WriteTour(&buf, []TourOutcome{o})
			if !c.pass {
				assert.Contains(t, buf.String(), "FAIL (want PERMISSION_DENIED GRANT_EXPIRED)")
			}
		})
	}
}
