package reason_test

import (
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
)

func TestCatalogIsComplete(t *testing.T) {
	upperSnake := regexp.MustCompile(`^[A-Z]+(_[A-Z]+)*$`)
	seen := map[reason.Reason]bool{}
	for _, info := range reason.Catalog() {
		assert.Regexp(t, upperSnake, string(info.Reason))
		assert.False(t, seen[info.Reason], "%s listed twice", info.Reason)
		seen[info.Reason] = true
		assert.NotEmpty(t, info.Meaning, info.Reason)
		assert.NotEmpty(t, info.Fix, info.Reason)
		assert.Equal(t, info.Code, info.Reason.Code())
		assert.Contains(t, []codes.Code{codes.Unauthenticated, codes.PermissionDenied, codes.DeadlineExceeded, codes.Unavailable, codes.ResourceExhausted}, info.Code)
		assert.Equal(t, info.Code == codes.Unauthenticated, info.Reason.IsIdentity())
	}
	assert.Equal(t, codes.Unknown, reason.Reason("NOT_IN_CATALOG").Code())
}

func TestErrorRoundTripsThroughStatus(t *testing.T) {
	e := reason.New(reason.GrantExpired, "the grant expired 3m ago", "expired_ago", "3m0s")
	st := e.GRPCStatus()
	assert.Equal(t, codes.PermissionDenied, st.Code())
	assert.Equal(t, "GRANT_EXPIRED: the grant expired 3m ago", st.Message())
	require.Len(t, st.Details(), 1)
	info, ok := st.Details()[0].(*errdetails.ErrorInfo)
	require.True(t, ok)
	assert.Equal(t, reason.Domain, info.GetDomain())

	// As a client sees it: a status error built from the proto.
	back := reason.FromError(status.ErrorProto(st.Proto()))
	assert.Equal(t, reason.Details{Code: codes.PermissionDenied, Reason: reason.GrantExpired,
		Message: "the grant expired 3m ago", Metadata: map[string]string{"expired_ago": "3m0s"}}, back)
	assert.Equal(t, reason.GrantExpired, reason.Of(fmt.Errorf("wrapped: %w", e)))
}

func TestSentinels(t *testing.T) {
	err := fmt.Errorf("call failed: %w", reason.New(reason.GrantRevoked, "revoked"))
	assert.ErrorIs(t, err, reason.GrantRevoked)
	assert.NotErrorIs(t, err, reason.GrantExpired)
	assert.Equal(t, reason.Details{Code: codes.OK}, reason.FromError(nil))
	assert.Equal(t, codes.Unknown, reason.FromError(errors.New("plain")).Code)
	assert.Equal(t, reason.Reason(""), reason.Of(status.Error(codes.Internal, "no details")))
}

func TestCodeName(t *testing.T) {
	for c, want := range map[codes.Code]string{
		codes.OK: "OK", codes.PermissionDenied: "PERMISSION_DENIED", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
		codes.Unauthenticated: "UNAUTHENTICATED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	} {
		assert.Equal(t, want, reason.CodeName(c))
	}
}

func TestFormatMetadataIsSorted(t *testing.T) {
	assert.Equal(t, "a=1 b=2 c=3", reason.FormatMetadata(map[string]string{"c": "3", "a": "1", "b": "2"}))
	assert.Empty(t, reason.FormatMetadata(nil))
}
