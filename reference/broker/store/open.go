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

// lockTimeout is how long Open waits for the file lock. Short: a lock held
// longer means a second broker on the same directory, and saying so at
// once beats hanging (bbolt waits forever by default).
const lockTimeout = 250 * time.Millisecond

// errLockHeld is lockFile's timeout.
var errLockHeld = errors.New("lock held")

// Open opens, or creates, the durable store in dir/broker.db (creating
// dir). Only a missing file starts a new store: an existing one is read
// back whole before Open returns (bbolt's page structure, every record's
// checksum, the audit hash chain), and one that fails is refused with an
// error wrapping ErrCorrupt that names the file and what is wrong, so that
// a broker refuses to start rather than start empty or crash later. Open
// fails with ErrLocked when another process has the file open.
func Open(dir string, opts Options) (Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	path := filepath.Join(dir, fileName)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if err := create(dir, path, opts); err != nil {
			return nil, err
		}
	}
	db, f, err := openChecked(path, opts)
	if err != nil {
		return nil, err
	}
	var head chainHead
	err = safeView(db, func(tx *bolt.Tx) (err error) {
		head, err = verifyChain(tx)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, corrupt(path, err)
	}
	return newDurable(db, f, head, opts.logger()), nil
}

// create makes a new, empty store at path atomically: it is built under a
// temporary name and linked into place, so a crash leaves either no
// broker.db or a complete one (never an empty or half-made file, which
// Open would refuse), and an existing file is never replaced.
func create(dir, path string, opts Options) error {
	tmp, err := os.CreateTemp(dir, fileName+".new-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	db, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: lockTimeout, NoSync: opts.NoFsync})
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range append([][]byte{bucketMeta}, dataBuckets...) {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, seqKey(schemaVersion))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	// Link, unlike rename, fails rather than replace a file another Open
	// created meanwhile; that one is then opened like any existing file.
	// A file system without hard links gets the rename, and the race.
	if err := os.Link(name, path); err != nil && !errors.Is(err, fs.ErrExist) {
		if err := os.Rename(name, path); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	_ = os.Remove(name)
	// The new entry must be durable too, or a crash could lose the whole
	// file after the first acknowledged commit.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: %s: %w", dir, err)
	}
	return nil
}

// openChecked opens the existing store file at path and checks everything
// but the audit chain: the file is locked, its pages checked (checkFile)
// before bbolt maps it, then bbolt's own consistency check runs and every
// request and revocation is read back. It returns bbolt's database and
// the file under it, which bbolt closes.
func openChecked(path string, opts Options) (*bolt.DB, *os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	if err := lockFile(f, lockTimeout); err != nil {
		_ = f.Close()
		if errors.Is(err, errLockHeld) {
			return nil, nil, fmt.Errorf("store: %s: %w: another broker holds its lock", path, ErrLocked)
		}
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	if err := checkFile(f); err != nil {
		_ = f.Close()
		if isReadErr(err) {
			return nil, nil, fmt.Errorf("store: %w", err)
		}
		return nil, nil, corrupt(path, err)
	}
	db, err := openBolt(path, f, opts)
	if err != nil {
		_ = f.Close() // bbolt closes it too on most failures; twice is harmless
		return nil, nil, err
	}
	if err := safeView(db, checkRecords); err != nil {
		_ = db.Close()
		return nil, nil, corrupt(path, err)
	}
	return db, f, nil
}

// openBolt opens the checked, locked file f with bbolt and sorts bbolt's
// failures into ErrLocked, ErrCorrupt and the rest.
func openBolt(path string, f *os.File, opts Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(path, fmt.Errorf("bbolt: %v", r))
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout: lockTimeout,
		NoSync:  opts.NoFsync,
		// The file checkFile read, under the lock lockFile took.
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
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
		return nil, corrupt(path, err)
	}
}

// safeView runs fn in a read transaction of db, turning a panic or a
// fault while bbolt reads the file into an error: bbolt trusts page
// contents, and damage it meets (the file changed under a running broker,
// or something checkFile does not catch) must fail the read, not the
// process. A fault is a panic only on a goroutine that asked for it, so
// safeView sets debug.SetPanicOnFault for its own.
func safeView(db *bolt.DB, fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &readPanic{value: r}
		}
	}()
	return db.View(fn)
}

// readPanic is a panic safeView recovered: bbolt met damage it trusted.
type readPanic struct{ value any }

func (e *readPanic) Error() string { return fmt.Sprintf("bbolt failed reading the file: %v", e.value) }

// syncDir makes dir's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
