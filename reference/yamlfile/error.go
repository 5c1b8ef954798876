package yamlfile

import "fmt"

// Error is a problem in a YAML file, at the node that causes it.
type Error struct {
	// File is the name the loader was given: a path, or a name for data read elsewhere.
	File string
	// Line and Column are 1-based.
	Line, Column int
	// Msg says what is wrong and, where it can, what would be right.
	Msg string
	// Err is the loader's sentinel (Reader.Err), so that errors.Is tells a
	// bad scenario file from a bad policy file although both are an *Error.
	Err error
}

// Error formats as FILE:LINE:COL: message, which editors and CI logs turn into a link to the spot.
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap returns the loader's sentinel, so errors.Is(err, scenarios.ErrInvalid) holds for a scenario file's errors.
func (e *Error) Unwrap() error { return e.Err }
