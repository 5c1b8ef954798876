package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Fault is one configured fault. The proxy calls Apply at the start of each
// call the fault's scope and probability select, before the call reaches the
// upstream; a non-nil error ends the call there (an *AbortError, ErrReset, or
// the context's error), nil lets it go on, possibly changed through c.
type Fault interface {
	Apply(ctx context.Context, c *Call) error
}

// Releaser is implemented by faults that hold calls (a blackhole): the set
// calls Release when the fault is removed or replaced, so held calls go on.
type Releaser interface {
	Release()
}

// Protocol is what a proxy speaks; some fault kinds apply to one only.
type Protocol int

// The protocols a proxy speaks.
const (
	// GRPC is the gRPC (HTTP/2) proxy.
	GRPC Protocol = 1 << iota
	// HTTP is the plain HTTP reverse proxy (a key source, say).
	HTTP
)

// String names the protocol as flags and messages do.
func (p Protocol) String() string {
	switch p {
	case GRPC:
		return "grpc"
	case HTTP:
		return "http"
	case GRPC | HTTP:
		return "grpc and http"
	}
	return fmt.Sprintf("protocol(%d)", int(p))
}

// Direction is the way a message travels through the proxy.
type Direction int

// The two directions of a call.
const (
	// ToUpstream is a request message, client to service.
	ToUpstream Direction = iota
	// ToClient is a response message, service to client.
	ToClient
)

// String names the direction for logs.
func (d Direction) String() string {
	if d == ToUpstream {
		return "to-upstream"
	}
	return "to-client"
}

// MessageHook runs before each message of a call is forwarded; size is the
// message's length in bytes. An error ends the call with that error.
type MessageHook func(ctx context.Context, d Direction, size int) error

// ErrReset is what a fault returns to have the client's connection reset:
// the gRPC proxy closes the TCP connection with RST (every call on it
// fails), the HTTP proxy aborts the response.
var ErrReset = errors.New("connection reset by a jitbench proxy fault")

// AbortError ends a call with a chosen status: a gRPC code and message, or
// an HTTP status on the HTTP proxy.
type AbortError struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the status message (gRPC) or the response body (HTTP).
	Message string
	// HTTPStatus is the HTTP proxy's status code; 0 maps Code to one.
	HTTPStatus int
}

// Error says which status the call was aborted with.
func (e *AbortError) Error() string {
	return fmt.Sprintf("aborted with %s: %s", CodeName(e.Code), e.Message)
}

// GRPCStatus makes status.FromError see the chosen code and message.
func (e *AbortError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// HTTPCode is the HTTP status the HTTP proxy answers with.
func (e *AbortError) HTTPCode() int {
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	return httpStatusOf(e.Code)
}

// httpStatusOf maps a gRPC code to the HTTP status that means the same,
// after google.rpc.Code's documented mapping.
func httpStatusOf(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// grpcCodeOfHTTP maps an HTTP status to a gRPC code as gRPC clients do
// (the HTTP-to-gRPC status mapping of the gRPC protocol docs).
func grpcCodeOfHTTP(s int) codes.Code {
	switch s {
	case http.StatusBadRequest:
		return codes.Internal
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Unknown
}

// Call is one call passing through the proxy, as faults see and change it.
// It is used by one goroutine at a time: faults run in turn at the start of
// the call, message hooks in the call's forwarding goroutines.
type Call struct {
	// Method is the gRPC full method (/pkg.Service/Method) or the HTTP request path.
	Method string
	// MD is the request metadata (for HTTP: the headers, names in lower
	// case) the upstream will receive; faults may change it.
	MD metadata.MD
	// Protocol is the proxy's protocol.
	Protocol Protocol

	eng      *engine
	deadline time.Time // the deadline the upstream will see; zero: none
	shorter  bool      // a fault shortened the deadline
	hooks    []MessageHook
	notes    []any // key, value pairs for the fault log line
}

// Sleep waits d on the proxy's clock, or until ctx ends (returning its error).
func (c *Call) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := c.eng.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Int64N returns a number in [0, n) from the proxy's seeded source; n must be positive.
func (c *Call) Int64N(n int64) int64 { return c.eng.int64N(n) }

// Deadline returns the deadline the upstream will see, if there is one.
func (c *Call) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

// ShortenDeadline makes the upstream see deadline t when it is earlier than
// the one it would see; it never lengthens a deadline.
func (c *Call) ShortenDeadline(t time.Time) {
	if c.deadline.IsZero() || t.Before(c.deadline) {
		c.deadline = t
		c.shorter = true
	}
}

// OnMessage adds a hook run before each message of the call is forwarded.
func (c *Call) OnMessage(h MessageHook) { c.hooks = append(c.hooks, h) }

// Note adds key and value to the log line of the fault being applied.
func (c *Call) Note(key string, value any) { c.notes = append(c.notes, key, value) }

// runHooks runs the call's message hooks in order.
func (c *Call) runHooks(ctx context.Context, d Direction, size int) error {
	for _, h := range c.hooks {
		if err := h(ctx, d, size); err != nil {
			return err
		}
	}
	return nil
}
