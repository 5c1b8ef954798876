package reason

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a denial with a stable reason, a plain-words message and metadata
// that helps a human (token age, skew, accepted algorithms). It converts to a
// gRPC status carrying a google.rpc.ErrorInfo, so returning it from a handler
// or interceptor sends the right code and reason.
//
// Messages and metadata never contain a token: callers build them from claims
// and times, not from the raw credential.
type Error struct {
	Reason   Reason
	Message  string
	Metadata map[string]string
}

// Error makes a Reason usable as a sentinel: errors.Is(err, reason.GrantExpired).
func (r Reason) Error() string { return string(r) }

// New returns an Error for r with message msg and metadata given as key, value pairs.
func New(r Reason, msg string, kv ...string) *Error {
	e := &Error{Reason: r, Message: msg}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Set(kv[i], kv[i+1])
	}
	return e
}

// Newf returns an Error for r with a formatted message.
func Newf(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Message: fmt.Sprintf(format, args...)}
}

// Set adds one metadata entry and returns e, for chaining.
func (e *Error) Set(key, value string) *Error {
	if e.Metadata == nil {
		e.Metadata = make(map[string]string, 4)
	}
	e.Metadata[key] = value
	return e
}

// Error renders the reason and message, e.g. "GRANT_EXPIRED: grant expired 3m ago".
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Message
}

// Is matches a Reason sentinel or another *Error with the same reason.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Reason:
		return t == e.Reason
	case *Error:
		return t.Reason == e.Reason
	}
	return false
}

// Code is the gRPC code of the error's reason.
func (e *Error) Code() codes.Code { return e.Reason.Code() }

// GRPCStatus converts the error to a status with an ErrorInfo detail; grpc-go
// calls it when the error is returned from a handler or interceptor.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code(), e.Error())
	info := &errdetails.ErrorInfo{Reason: string(e.Reason), Domain: Domain, Metadata: e.Metadata}
	if withInfo, err := st.WithDetails(info); err == nil {
		return withInfo
	}
	return st
}

// Details is what can be read back from a status or error: its code, reason and metadata.
type Details struct {
	Code     codes.Code
	Reason   Reason
	Message  string
	Metadata map[string]string
}

// FromError extracts the code, reason and metadata of err, whether it is an
// *Error, a gRPC status error carrying an ErrorInfo, or a plain error (reason "").
func FromError(err error) Details {
	if err == nil {
		return Details{Code: codes.OK}
	}
	var re *Error
	if errors.As(err, &re) {
		return Details{Code: re.Code(), Reason: re.Reason, Message: re.Message, Metadata: re.Metadata}
	}
	st, _ := status.FromError(err)
	return FromStatus(st)
}

// FromStatus extracts the code, reason and metadata of a gRPC status.
func FromStatus(st *status.Status) Details {
	d := Details{Code: st.Code(), Message: st.Message()}
	for _, det := range st.Details() {
		if info, ok := det.(*errdetails.ErrorInfo); ok {
			d.Reason = Reason(info.GetReason())
			d.Metadata = info.GetMetadata()
			// The status message starts with the reason for people reading
			// raw statuses (grpcurl); Details carries it separately.
			d.Message = strings.TrimPrefix(d.Message, string(d.Reason)+": ")
			break
		}
	}
	return d
}

// Of returns the reason carried by err, or "" if it carries none.
func Of(err error) Reason { return FromError(err).Reason }

// FormatMetadata renders metadata as "k=v k=v" in key order, for logs and terminals.
func FormatMetadata(md map[string]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(md[k])
	}
	return b.String()
}
