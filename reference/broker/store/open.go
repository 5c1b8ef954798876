package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// lockTimeout is how long Open waits for bbolt's file lock. Short: a lock
// held longer means a second broker on the same directory, and saying so at
// once beats hanging (bbolt waits forever by default).
const lockTimeout = 250 * time.Millisecond

// Open opens, or creates, the durable store in dir/broker.db (creating
// dir), failing with an error wrapping ErrCorrupt and naming the file when
// the file is not a readable store of this schema, and with ErrLocked when
// another process has it open, so that a broker refuses to start rather
// than start empty or share the file.
func Open(dir string, opts Options) (Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	path := filepath.Join(dir, fileName)
	info, statErr := os.Stat(path)
	existed := statErr == nil && info.Size() > 0

	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	if !existed {
		// A new file's directory entry must be durable too, or a crash
		// could lose the whole file after the first acknowledged commit.
		if err := syncDir(dir); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("store: %s: %w", dir, err)
		}
	}
	if err := prepare(db, path); err != nil {
		_ = db.Close()
		return nil, err
	}
	return newDurable(db, path), nil
}

// openBolt opens the file and sorts bbolt's failures into ErrLocked,
// ErrCorrupt and the rest.
func openBolt(path string, opts Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(path, &err)
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, NoSync: opts.NoFsync})
	var pathErr *fs.PathError
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("store: %s: %w: another broker holds its lock", path, ErrLocked)
	case errors.As(err, &pathErr):
		// Permissions, a full disk, a directory in the way: the file
		// system's problem, not the file's content.
		return nil, fmt.Errorf("store: %w", err)
	default:
		// bbolt's ErrInvalid, ErrChecksum, ErrVersionMismatch and its
		// size checks all mean the bytes are not a bbolt file we can use.
		return nil, fmt.Errorf("store: %s: %w: %v", path, ErrCorrupt, err)
	}
}

// prepare creates the layout in a file without buckets and checks it in
// any other: a file with foreign buckets, another schema version or a
// truncated tail is corrupt.
func prepare(db *bolt.DB, path string) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(path, &err)
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("store: %s: %w: %s", path, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	fresh := false
	err = db.View(func(tx *bolt.Tx) error {
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if tx.Size() > info.Size() {
			// bbolt would fault reading pages past the end of the file.
			return corrupt("file is %d bytes, its meta page says %d", info.Size(), tx.Size())
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			// No bucket at all: bbolt initialised the file but our layout
			// never committed (a crash during the first Open); nothing was
			// acknowledged, so starting empty loses nothing.
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return corrupt("no %q bucket: not a jitbench broker store", bucketMeta)
			}
			fresh = true
			return nil
		}
		got := meta.Get(keySchema)
		if len(got) != 8 {
			return corrupt("schema version missing or malformed (%d bytes)", len(got))
		}
		if v, _ := keySeq(got); v != schemaVersion {
			return corrupt("schema version %d, this broker reads %d", v, schemaVersion)
		}
		for _, name := range dataBuckets {
			if tx.Bucket(name) == nil {
				return corrupt("bucket %q missing", name)
			}
		}
		return nil
	})
	if err != nil || !fresh {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, name := range append([][]byte{bucketMeta}, dataBuckets...) {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, seqKey(schemaVersion))
	})
}

// recoverCorrupt, deferred, turns a panic while bbolt reads a damaged file
// into ErrCorrupt: bbolt trusts page contents, and a bad page must stop the
// broker with a message, not a stack trace. Its callers also set
// debug.SetPanicOnFault, so that a page mapped past the end of a short file
// panics here instead of killing the process.
func recoverCorrupt(path string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("store: %s: %w: %v", path, ErrCorrupt, r)
	}
}

// syncDir makes dir's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
