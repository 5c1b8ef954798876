package policy

import (
	"errors"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// Errors the policy package returns.
var (
	// ErrInvalid is wrapped by every *Error: the policy file is refused.
	ErrInvalid = errors.New("invalid policy")
	// ErrNoRule is returned by Match when no rule covers the requested scope: the request is refused.
	ErrNoRule = errors.New("no policy rule matches")
)

// Error is a problem in a policy file, at the node that causes it; its Error() is FILE:LINE:COL: message.
type Error = yamlfile.Error
