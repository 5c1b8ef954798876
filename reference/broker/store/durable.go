package store

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// readPage is how many records one read transaction decodes before fn sees
// them. Iterating in short transactions outside of which fn runs keeps a
// slow fn (a revocation stream to a slow verifier) from pinning bbolt's
// mmap, which would stall every commit at the next file growth, and lets fn
// call Commit without deadlocking.
const readPage = 256

// durable is the bbolt-backed Store returned by Open.
type durable struct {
	db     *bolt.DB
	file   *os.File // under db, which closes it
	path   string
	log    *slog.Logger
	closed atomic.Bool
	// head is the audit chain's end; only the writer uses it once the
	// store is open.
	head chainHead
	// readDamage is set once a read has found the file damaged and logged it.
	readDamage atomic.Bool
	// stuck is set by the writer when a failed write transaction kept
	// bbolt's write lock (see update); Close reads it after the writer ends.
	stuck bool
	// commits carries Commit calls to the writer goroutine (see groupcommit.go).
	commits chan *pending
	// stop is closed by Close; writerDone when the writer has returned.
	stop       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// newDurable wraps an opened, checked file and starts its writer.
func newDurable(db *bolt.DB, file *os.File, head chainHead, log *slog.Logger) *durable {
	s := &durable{
		db:         db,
		file:       file,
		path:       file.Name(),
		log:        log,
		head:       head,
		commits:    make(chan *pending),
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	go s.writer()
	return s
}

// view runs fn in a read transaction, reporting a closed database as
// ErrClosed. Damage fn reports (an error wrapping ErrCorrupt) or bbolt
// trips on (a panic, see safeView) fails the read with ErrCorrupt naming
// the file, and is logged the first time.
func (s *durable) view(fn func(*bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := safeView(s.db, fn)
	var panicked *readPanic
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.As(err, &panicked):
		err = corrupt(s.path, err)
	case !errors.Is(err, ErrCorrupt):
		return err
	}
	if s.readDamage.CompareAndSwap(false, true) {
		s.log.Error("store: the data file is damaged; reads fail until it is restored", "file", s.path, "err", err.Error())
	}
	return err
}

// damaged returns ErrCorrupt for a record that fails its check on read.
func (s *durable) damaged(format string, args ...any) error {
	return corrupt(s.path, fmt.Errorf(format, args...))
}

// Request implements Store.
func (s *durable) Request(id string) (*jitv1.AccessRequest, error) {
	var r *jitv1.AccessRequest
	err := s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketRequests).Get([]byte(id))
		if data == nil {
			return fmt.Errorf("request %q: %w", id, ErrNotFound)
		}
		var err error
		if r, err = decodeRequest(id, data); err != nil {
			return s.damaged("request %q: %w", id, err)
		}
		return nil
	})
	return r, err
}

// Requests implements Store. It walks the requests in id order, a page per
// read transaction: each request is seen once, and one committed during the
// walk is seen if its id sorts after the page being read.
func (s *durable) Requests(fn func(*jitv1.AccessRequest) bool) error {
	var from []byte // the first key of the next page
	for {
		page := make([]*jitv1.AccessRequest, 0, readPage)
		var next []byte
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketRequests).Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			for ; k != nil; k, v = c.Next() {
				if len(page) == readPage {
					next = append([]byte(nil), k...)
					return nil
				}
				if v == nil {
					return s.damaged("requests: %q is a bucket, not a request", k)
				}
				r, err := decodeRequest(string(k), v)
				if err != nil {
					return s.damaged("request %q: %w", k, err)
				}
				page = append(page, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range page {
			if !fn(r) {
				return nil
			}
		}
		if next == nil {
			return nil
		}
		from = next
	}
}

// Revocations implements Store.
func (s *durable) Revocations(after uint64, fn func(*jitv1.RevocationEvent) bool) error {
	return feed(s, bucketRevocations, after, func(tx *bolt.Tx) func(uint64, []byte) (*jitv1.RevocationEvent, error) {
		return func(seq uint64, v []byte) (*jitv1.RevocationEvent, error) {
			ev, err := decodeRevocation(seq, v)
			if err != nil {
				return nil, fmt.Errorf("revocation %d: %w", seq, err)
			}
			return ev, nil
		}
	}, fn)
}

// Audit implements Store. Each record is checked against the hash of the
// one before it, which the first page reads from record after itself.
func (s *durable) Audit(after uint64, fn func(AuditRecord) bool) error {
	var prev [hashLen]byte
	first := true
	return feed(s, bucketAudit, after, func(tx *bolt.Tx) func(uint64, []byte) (AuditRecord, error) {
		if first && after > 0 {
			// A record past the end leaves nothing to check: the walk
			// finds no record after it.
			if v := tx.Bucket(bucketAudit).Get(seqKey(after)); len(v) >= hashLen {
				copy(prev[:], v)
			}
		}
		first = false
		return func(seq uint64, v []byte) (AuditRecord, error) {
			rec, hash, err := decodeAudit(seq, prev, v)
			if err != nil {
				return AuditRecord{}, err
			}
			prev = hash
			return rec, nil
		}
	}, fn)
}

// feed walks an append-only bucket keyed by sequence from after+1, a page
// per read transaction; records committed during the walk are included.
// decoder gives the decoder for one page's transaction; the keys must run
// on without a gap.
func feed[T any](s *durable, bucket []byte, after uint64, decoder func(*bolt.Tx) func(uint64, []byte) (T, error), fn func(T) bool) error {
	for after < math.MaxUint64 {
		page := make([]T, 0, readPage)
		err := s.view(func(tx *bolt.Tx) error {
			decode := decoder(tx)
			c := tx.Bucket(bucket).Cursor()
			for k, v := c.Seek(seqKey(after + 1)); k != nil && len(page) < readPage; k, v = c.Next() {
				seq, err := keySeq(k)
				switch {
				case err != nil:
					return s.damaged("%s: after record %d: %w", bucket, after, err)
				case seq != after+1:
					return s.damaged("%s: record %d is missing (the next is %d)", bucket, after+1, seq)
				case v == nil:
					return s.damaged("%s: record %d is a bucket", bucket, seq)
				}
				rec, err := decode(seq, v)
				if err != nil {
					return s.damaged("%s: %w", bucket, err)
				}
				page = append(page, rec)
				after = seq
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, rec := range page {
			if !fn(rec) {
				return nil
			}
		}
		if len(page) < readPage {
			return nil
		}
	}
	return nil
}

// Close implements Store: it waits for the commit in progress, refuses
// later ones with ErrClosed, and closes the file. Closing twice is harmless.
func (s *durable) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.writerDone
		if s.stuck {
			// bbolt's Close would wait forever for the write lock the
			// failed transaction kept. Closing the file releases the
			// directory's lock; the map stays until the process ends.
			_ = s.file.Close()
			s.closeErr = fmt.Errorf("store: %s: %w: closed without bbolt, whose write lock a failed write kept", s.path, ErrFailed)
			return
		}
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}
