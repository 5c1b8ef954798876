package proxy

import (
	"strconv"

	"google.golang.org/grpc/codes"
)

// codeNames are the gRPC codes as the gRPC spec and jitbench's reason table write them.
var codeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// CodeName spells c as the gRPC spec does: PERMISSION_DENIED.
func CodeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE_" + strconv.Itoa(int(c))
}

// parseCode reads a code by its name (PERMISSION_DENIED, case-sensitive) or number (7).
func parseCode(s string) (codes.Code, bool) {
	for i, n := range codeNames {
		if n == s {
			return codes.Code(i), true
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= len(codeNames) {
		return 0, false
	}
	return codes.Code(n), true
}
