package store

import (
	"errors"
	"fmt"
	"math"
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
	path   string
	closed atomic.Bool
	// commits carries Commit calls to the writer goroutine (see groupcommit.go).
	commits chan *pending
	// stop is closed by Close; writerDone when the writer has returned.
	stop       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// newDurable wraps an opened, prepared file and starts its writer.
func newDurable(db *bolt.DB, path string) *durable {
	s := &durable{
		db:         db,
		path:       path,
		commits:    make(chan *pending),
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	go s.writer()
	return s
}

// view runs fn in a read transaction, reporting a closed database as ErrClosed.
func (s *durable) view(fn func(*bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
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
		r, err = decodeRequest(data)
		return err
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
				r, err := decodeRequest(v)
				if err != nil {
					return fmt.Errorf("store: %s: request %q: %w", s.path, k, err)
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
	return feed(s, bucketRevocations, after, decodeRevocation, fn)
}

// Audit implements Store.
func (s *durable) Audit(after uint64, fn func(AuditRecord) bool) error {
	return feed(s, bucketAudit, after, decodeAudit, fn)
}

// feed walks an append-only bucket keyed by sequence from after+1, a page
// per read transaction; records committed during the walk are included.
func feed[T any](s *durable, bucket []byte, after uint64, decode func(uint64, []byte) (T, error), fn func(T) bool) error {
	for after < math.MaxUint64 {
		page := make([]T, 0, readPage)
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucket).Cursor()
			for k, v := c.Seek(seqKey(after + 1)); k != nil && len(page) < readPage; k, v = c.Next() {
				seq, err := keySeq(k)
				if err == nil {
					var rec T
					rec, err = decode(seq, v)
					page = append(page, rec)
				}
				if err != nil {
					return fmt.Errorf("store: %s: %s: %w", s.path, bucket, err)
				}
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
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}
