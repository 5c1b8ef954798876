package load

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
)

// errNotPayload is a programming error: the raw codec was handed a message it did not prepare.
var errNotPayload = errors.New("load: the raw codec only sends payloads it prepared")

// codeNames spells each gRPC code once, so classifying a call allocates nothing.
var codeNames = func() [codes.Unauthenticated + 1]string {
	var out [codes.Unauthenticated + 1]string
	for c := range out {
		out[c] = reason.CodeName(codes.Code(c))
	}
	return out
}()

// codeName spells c as the reports do ("PERMISSION_DENIED").
func codeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return reason.CodeName(c)
}

// grantError turns a credential source's error into a status with a
// reason, as the reference client's per-RPC credentials do: a plain error
// would read as UNKNOWN and hide whether approval was slow or the broker gone.
func grantError(ctx context.Context, err error) error {
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	var re *reason.Error
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return reason.New(reason.ApprovalPending, "the grant did not arrive before the call's deadline")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the call was cancelled while its grant was obtained")
	}
	return reason.New(reason.BrokerUnavailable, "the grant source failed: "+strings.TrimSpace(err.Error()))
}
