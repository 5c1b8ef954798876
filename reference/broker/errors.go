package broker

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
)

// Sentinel errors of the broker's API. Each maps to one gRPC code, so the
// in-process API and the gRPC adapter fail alike; match them with errors.Is.
// Policy refusals (SELF_APPROVAL, NOT_APPROVER, NO_POLICY) are *reason.Error
// values instead, because clients match on their machine reason.
var (
	// ErrInvalidArgument is a malformed call: a missing field, a bad duration, a bad page token.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotFound is an unknown request id, or one the caller may not see.
	ErrNotFound = errors.New("access request not found")
	// ErrIllegalTransition is a transition the request's current state does not allow.
	ErrIllegalTransition = errors.New("illegal state transition")
	// ErrAlreadyReviewed is a second review by the same reviewer: a reviewer counts once.
	ErrAlreadyReviewed = errors.New("a reviewer counts once")
	// ErrNotRequester is an action only the requester may take (withdrawing).
	ErrNotRequester = errors.New("only the requester may do this")
	// ErrUnauthenticated is a call without a verified identity.
	ErrUnauthenticated = errors.New("no verified identity")
	// ErrWatcherTooSlow ends a watcher whose buffer filled: it stopped reading, and the broker never waits for it.
	ErrWatcherTooSlow = errors.New("watcher fell behind")
	// ErrClosed is returned once the broker is closed.
	ErrClosed = errors.New("broker closed")
	// ErrStore wraps a store failure; the transition did not happen.
	ErrStore = errors.New("store failure")
	// ErrSigning is a grant the issuer could not sign; the request stays pending.
	ErrSigning = errors.New("cannot sign the grant")
)

// codeOf maps each sentinel to its gRPC code.
var codeOf = map[error]codes.Code{
	ErrInvalidArgument:   codes.InvalidArgument,
	ErrNotFound:          codes.NotFound,
	ErrIllegalTransition: codes.FailedPrecondition,
	ErrAlreadyReviewed:   codes.FailedPrecondition,
	ErrNotRequester:      codes.PermissionDenied,
	ErrUnauthenticated:   codes.Unauthenticated,
	ErrWatcherTooSlow:    codes.ResourceExhausted,
	ErrClosed:            codes.Unavailable,
	ErrStore:             codes.Internal,
	ErrSigning:           codes.Internal,
}

// apiError is a sentinel with a message for humans; it converts to a gRPC
// status itself so handlers can return it unchanged.
type apiError struct {
	kind error
	msg  string
	// reason, when set, travels as the status's ErrorInfo, as every
	// identity failure of the reference does.
	reason reason.Reason
}

// fail returns an error matching kind (errors.Is) with a formatted message.
func fail(kind error, format string, args ...any) error {
	return &apiError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// unauthenticated is ErrUnauthenticated carrying IDENTITY_MISSING.
func unauthenticated(msg string) error {
	return &apiError{kind: ErrUnauthenticated, msg: msg, reason: reason.IdentityMissing}
}

func (e *apiError) Error() string { return e.msg }

func (e *apiError) Unwrap() error { return e.kind }

// GRPCStatus lets grpc-go send the sentinel's code with the message.
func (e *apiError) GRPCStatus() *status.Status {
	code, ok := codeOf[e.kind]
	if !ok {
		code = codes.Unknown
	}
	if e.reason != "" {
		return reason.New(e.reason, e.msg).GRPCStatus()
	}
	return status.New(code, e.msg)
}
