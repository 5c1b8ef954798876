package scenarios

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every *Error, so callers can tell a bad scenario file (exit 2) from a failed run.
var ErrInvalid = errors.New("invalid scenario")

// Error is a problem in a scenario file, at the node that causes it.
type Error struct {
	// File is the name given to Parse, or the path given to Load.
	File string
	// Line and Column are 1-based.
	Line, Column int
	// Msg says what is wrong and, where it can, what would be right.
	Msg string
}

// Error formats as FILE:LINE:COL: message, which editors and CI logs turn into a link to the spot.
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalid) hold for every scenario file error.
func (e *Error) Unwrap() error { return ErrInvalid }
