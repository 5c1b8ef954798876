package policy

import (
	"errors"
	"fmt"
)

// Errors the policy package returns.
var (
	// ErrInvalid is wrapped by every *Error: the policy file is refused.
	ErrInvalid = errors.New("invalid policy")
	// ErrNoRule is returned by Match when no rule covers the requested scope: the request is refused.
	ErrNoRule = errors.New("no policy rule matches")
)

// Error is a problem in a policy file, at the node that causes it.
type Error struct {
	// File is the name given to Parse, or the path given to Load.
	File string
	// Line and Column are 1-based.
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

// Error formats as FILE:LINE:COL: message, which editors and CI logs link to the spot.
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap lets errors.Is(err, ErrInvalid) hold for every policy file error.
func (e *Error) Unwrap() error { return ErrInvalid }
