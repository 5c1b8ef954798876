package store

import "log/slog"

// Options tune Open.
type Options struct {
	// NoFsync skips fsync on commit, which is UNSAFE (an acknowledged commit
	// can be lost, and the file corrupted, on power loss or a kernel crash)
	// and exists only for benchmarks that measure what fsync costs.
	NoFsync bool
	// Logger receives a line when the store fails at run time (a write
	// that failed, damage found by a read); nil means slog.Default(). The
	// callers get the error too; the line says which file, for operators.
	Logger *slog.Logger
}

// logger returns o's logger or the default.
func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}
