package store

// Options tune Open.
type Options struct {
	// NoFsync skips fsync on commit, which is UNSAFE (an acknowledged commit
	// can be lost, and the file corrupted, on power loss or a kernel crash)
	// and exists only for benchmarks that measure what fsync costs.
	NoFsync bool
}
