package scenarios

import (
	"errors"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// ErrInvalid is wrapped by every *Error, so callers can tell a bad scenario file (exit 2) from a failed run.
var ErrInvalid = errors.New("invalid scenario")

// Error is a problem in a scenario file, at the node that causes it; its Error() is FILE:LINE:COL: message.
type Error = yamlfile.Error
