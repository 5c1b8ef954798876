package zoo

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// refusal is a credential check's verdict: a message safe to show (it never
// quotes the token or a claim's value) and, for key-source trouble, a code
// of its own. Without one, the credential's role decides the code.
type refusal struct {
	msg  string
	code codes.Code // codes.OK: the role's code
}

func (r *refusal) Error() string { return r.msg }

// refuse is a refusal with the role's code.
func refuse(msg string) error { return &refusal{msg: msg} }

// refuseWith is a refusal with a code of its own.
func refuseWith(code codes.Code, msg string) error { return &refusal{msg: msg, code: code} }

// statusFor turns err, the refusal of a credential whose role answers with
// role, into the status a call gets: prefix starts the message, and echo
// (the token-echo bug) appends the token itself. Anything that is not a
// refusal is still the role's code, never UNKNOWN: a credential fault is
// never the server's fault.
func statusFor(err error, role codes.Code, prefix, raw string, echo bool) error {
	code, msg := role, "the credential could not be verified"
	var r *refusal
	switch {
	case errors.As(err, &r):
		msg = r.msg
		if r.code != codes.OK {
			code = r.code
		}
	case errors.Is(err, context.DeadlineExceeded):
		code, msg = codes.DeadlineExceeded, "the deadline passed while fetching verification keys"
	case errors.Is(err, context.Canceled):
		code, msg = codes.Canceled, "the call was canceled while fetching verification keys"
	}
	msg = prefix + msg
	if echo && raw != "" {
		// BUG token-echo: "so support can see what the client sent".
		msg += " (token: " + raw + ")"
	}
	return status.Error(code, msg)
}
