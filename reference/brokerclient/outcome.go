package brokerclient

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
)

// Internal outcomes of one attempt; Grant turns them into reasons per caller,
// because callers sharing an attempt have different deadlines.
var (
	// errInterrupted: the leader's context ended, or its deadline left no room for another attempt.
	errInterrupted = errors.New("the call's context ended while its grant was obtained")
	// errGone: the broker does not know the request (NotFound on Watch), or its grant already ended.
	errGone = errors.New("the access request is gone")
	// errStreamEnded: the broker closed a stream that should have gone on (Watch before a decision, WatchRevocations ever).
	errStreamEnded = errors.New("the broker ended the stream early")
)

// interrupted explains why a caller's wait ended without a grant: the broker
// was failing (BROKER_UNAVAILABLE), the caller gave up (CANCELLED), or no
// decision came in time (APPROVAL_PENDING; the request stays open).
func interrupted(ctx context.Context, s snapshot, start time.Time) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return status.Error(codes.Canceled, "the call was cancelled while its grant was obtained")
	}
	if s.failures > 0 {
		return brokerUnavailable(s, "the call's deadline leaves no time for another attempt")
	}
	e := reason.New(reason.ApprovalPending, "the broker did not answer the access request before the call's deadline")
	if s.requestID != "" {
		e.Message = "no decision on request " + s.requestID +
			" before the call's deadline; it stays open and the next call for this scope resumes it"
		e.Set("request_id", s.requestID)
	}
	e.Set("waited", time.Since(start).Round(time.Millisecond).String())
	if dl, ok := ctx.Deadline(); ok {
		e.Set("deadline", dl.Sub(start).Round(time.Millisecond).String())
	}
	return e
}

// brokerUnavailable is the BROKER_UNAVAILABLE error after s.failures failed attempts.
func brokerUnavailable(s snapshot, why string) *reason.Error {
	e := reason.New(reason.BrokerUnavailable,
		fmt.Sprintf("the broker could not be reached after %d attempts: %s", s.failures, why),
		"attempts", strconv.Itoa(s.failures))
	if s.lastErr != nil {
		e.Set("last_error", describe(s.lastErr))
	}
	if s.requestID != "" {
		e.Set("request_id", s.requestID)
	}
	return e
}

// describe renders a broker error as "CODE: message" for metadata.
func describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	return reason.CodeName(st.Code()) + ": " + st.Message()
}

// denied is the APPROVAL_DENIED error for a request that ended without a
// usable grant, naming the reviewer and their comment when there is one.
func denied(ar *jitv1.AccessRequest) *reason.Error {
	id, state := ar.GetId(), stateName(ar.GetState())
	e := reason.New(reason.ApprovalDenied, "", "request_id", id, "state", state)
	comment := ar.GetStateReason()
	switch ar.GetState() {
	case jitv1.State_STATE_DENIED:
		reviewer := ar.GetActor() // "policy" when no reviewer decided
		for i := len(ar.GetReviews()) - 1; i >= 0; i-- {
			if r := ar.GetReviews()[i]; r.GetDecision() == jitv1.Decision_DECISION_DENY {
				reviewer, comment = r.GetReviewer(), r.GetComment()
				break
			}
		}
		e.Message = "request " + id + " was denied"
		if reviewer != "" {
			e.Message += " by " + reviewer
			e.Set("reviewer", reviewer)
		}
	case jitv1.State_STATE_EXPIRED:
		e.Message = "request " + id + " expired before enough reviewers decided"
	case jitv1.State_STATE_WITHDRAWN:
		e.Message = "request " + id + " was withdrawn"
	case jitv1.State_STATE_REVOKED:
		e.Message = "request " + id + " was approved, then its grant was revoked"
	case jitv1.State_STATE_ENDED:
		e.Message = "request " + id + " was approved, but its grant has already ended"
	default:
		e.Message = "request " + id + " ended in state " + state
	}
	if comment != "" {
		e.Set("comment", comment)
	}
	if p := ar.GetPolicy(); p != "" {
		e.Set("policy", p)
	}
	return e
}

// stateName spells a state as operators read it: "DENIED", not "STATE_DENIED".
func stateName(s jitv1.State) string {
	return strings.TrimPrefix(s.String(), "STATE_")
}
