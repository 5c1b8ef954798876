package proxy

import "errors"

// ErrExists is wrapped by the error of an Add whose name is taken.
var ErrExists = errors.New("a fault of that name exists")

// ErrNotFound is wrapped by the error of an Update or Remove of a name no fault has.
var ErrNotFound = errors.New("no fault of that name")

// FieldError is a spec that cannot be used, naming the field at fault:
// "kind", "name", "methods", "probability", or "params.KEY".
type FieldError struct {
	// Field is the field at fault.
	Field string
	// Msg says what is wrong and, where it can, what would be right.
	Msg string
	// Err is ErrExists or ErrNotFound when the spec is fine but the set refuses it.
	Err error
}

// Error formats as "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns ErrExists or ErrNotFound, or nil.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: sprintf(format, args...)}
}
