package proxy

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
)

// abort ends calls with a chosen status before they reach the upstream.
type abort struct {
	err *AbortError
}

// defaultAbortMessage is the status message when the spec gives none.
const defaultAbortMessage = "aborted by a jitbench proxy fault"

func init() {
	Register(Kind{
		Name:    "abort",
		Summary: "end the call at the proxy with a chosen gRPC status and message (HTTP: a chosen status code)",
		Params: []ParamDoc{
			{"code", "gRPC code", "the status code, by name (PERMISSION_DENIED) or number (7); required on a gRPC proxy"},
			{"message", "text", "the status message or HTTP body (default: " + strconv.Quote(defaultAbortMessage) + ")"},
			{"http_status", "200-599", "an HTTP proxy's status code (default: the HTTP status of code)"},
		},
		Protocols: GRPC | HTTP,
		New:       newAbort,
	})
}

func newAbort(p Params, proto Protocol) (Fault, error) {
	e := &AbortError{Code: codes.Unknown, Message: p.String("message", defaultAbortMessage)}
	if v, ok := p["code"]; ok {
		c, ok := parseCode(v)
		if !ok {
			return nil, paramErr("code", "unknown gRPC code %q: write a name such as PERMISSION_DENIED or a number 1-16; codes: %s",
				v, strings.Join(codeNames[1:], ", "))
		}
		if c == codes.OK {
			return nil, paramErr("code", "OK is not an error: an abort needs a failing code")
		}
		e.Code = c
	} else if proto == GRPC {
		return nil, paramErr("code", "required: the gRPC status to end calls with, such as PERMISSION_DENIED")
	}
	if v, ok := p["http_status"]; ok {
		if proto != HTTP {
			return nil, paramErr("http_status", "applies to an HTTP proxy only; a gRPC proxy answers with code")
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 200 || n > 599 {
			return nil, paramErr("http_status", "want an HTTP status from 200 to 599, got %q", v)
		}
		e.HTTPStatus = n
	} else if proto == HTTP && !p.Has("code") {
		return nil, paramErr("http_status", "required: an HTTP proxy needs http_status (or a gRPC code to map)")
	}
	return &abort{err: e}, nil
}

func (f *abort) Apply(_ context.Context, c *Call) error {
	if c.Protocol == HTTP {
		c.Note("http_status", f.err.HTTPCode())
	} else {
		c.Note("code", CodeName(f.err.Code))
	}
	return f.err
}
