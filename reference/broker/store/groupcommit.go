package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Group commit. One writer goroutine owns every write transaction: it takes
// the first waiting Commit, then every Commit already waiting behind it
// (up to maxGroup), and writes them all in one bbolt transaction, hence one
// fsync. The group grows by itself with load, as commits queue while the
// previous fsync runs, and a lone commit waits for nothing.
//
// Why not bbolt's db.Batch: it holds every batch open for MaxBatchDelay
// (10 ms by default) even when it is alone, which adds that delay to every
// grant at low load; and on a failure it reruns the functions, once in the
// batch and once alone, which would have to be written to be idempotent.
// Here records are encoded before they reach the writer (encodeBatch), so
// a transaction fails only on I/O, and then it fails for the whole group.

// maxGroup bounds the commits one transaction takes.
const maxGroup = 1024

// pending is one Commit call waiting for the writer.
type pending struct {
	ctx       context.Context
	enc       *encodedBatch
	revSeqs   []uint64 // assigned by the writer
	auditSeqs []uint64
	auditHash [][hashLen]byte
	done      chan error // buffered; the writer sends exactly once
}

// Commit implements Store. ctx is honoured until the writer takes the
// batch: Commit then returns ctx's error and nothing is written. Once the
// writer holds it, Commit waits for the outcome, however long, because
// returning early would leave the caller not knowing whether it is stored.
func (s *durable) Commit(ctx context.Context, b Batch) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := encodeBatch(b)
	if err != nil || e.empty() {
		return err
	}
	p := &pending{
		ctx:       ctx,
		enc:       e,
		revSeqs:   make([]uint64, len(e.revocations)),
		auditSeqs: make([]uint64, len(e.audit)),
		auditHash: make([][hashLen]byte, len(e.audit)),
		done:      make(chan error, 1),
	}
	select {
	case s.commits <- p:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := <-p.done; err != nil {
		return err
	}
	assign(b, p.revSeqs, p.auditSeqs, p.auditHash)
	return nil
}

// writer is the goroutine that writes every group, until Close.
func (s *durable) writer() {
	defer close(s.writerDone)
	// This goroutine reads bbolt's map in every write transaction; a fault
	// there (the file cut short under the broker) must fail the group as a
	// panic, which update recovers, and not kill the process.
	debug.SetPanicOnFault(true)
	// failed is sticky: after a failed fsync the kernel may have dropped
	// the dirty pages and a retry may "succeed" without writing them, so
	// only a reopen, which reads the file back, can tell what is stored.
	var failed error
	group := make([]*pending, 0, maxGroup)
	for {
		select {
		case <-s.stop:
			return
		case p := <-s.commits:
			group = append(group[:0], p)
		}
	gather:
		for len(group) < maxGroup {
			select {
			case p := <-s.commits:
				group = append(group, p)
			default:
				break gather
			}
		}
		failed = s.write(group, failed)
	}
}

// write commits one group and answers its callers; it returns the store's
// sticky failure.
func (s *durable) write(group []*pending, failed error) error {
	live := group[:0:0]
	for _, p := range group {
		switch {
		case failed != nil:
			p.done <- failed
		case p.ctx.Err() != nil:
			p.done <- p.ctx.Err()
		default:
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return failed
	}
	head := s.head
	err := s.update(func(tx *bolt.Tx) error {
		reqs, revs, audit := tx.Bucket(bucketRequests), tx.Bucket(bucketRevocations), tx.Bucket(bucketAudit)
		for _, p := range live {
			for _, r := range p.enc.requests {
				if err := reqs.Put([]byte(r.id), r.data); err != nil {
					return err
				}
			}
			for i, data := range p.enc.revocations {
				seq, err := revs.NextSequence()
				if err == nil {
					err = revs.Put(seqKey(seq), withRevocationSeq(data, seq))
				}
				if err != nil {
					return err
				}
				p.revSeqs[i] = seq
			}
			for i, data := range p.enc.audit {
				seq, err := audit.NextSequence()
				if err != nil {
					return err
				}
				if seq != head.seq+1 {
					// The chain would fork: never write a broken link.
					return fmt.Errorf("audit record %d follows the chain's head %d", seq, head.seq)
				}
				canonical := withAuditSeq(data, seq)
				head = chainHead{seq: seq, hash: chainHash(head.hash, canonical)}
				if err := audit.Put(seqKey(seq), chainValue(head.hash, canonical)); err != nil {
					return err
				}
				p.auditSeqs[i], p.auditHash[i] = seq, head.hash
			}
		}
		return nil
	})
	if err != nil {
		failed = fmt.Errorf("store: %s: %w: %v", s.path, ErrFailed, err)
		s.log.Error("store: a write failed; every later commit fails until the broker restarts", "file", s.path, "err", err.Error())
	} else {
		s.head = head
	}
	for _, p := range live {
		p.done <- failed
	}
	return failed
}

// update runs fn in a write transaction, turning a panic into an error:
// bbolt trusts the pages it reads while it writes, and damage it meets
// must fail the commit, not the process. The transaction is managed here,
// not by db.Update, to learn whether its rollback released bbolt's write
// lock: a rollback that panics too (it rereads the free list from the
// damaged file) keeps it, and then s.stuck tells Close not to wait for it.
// The store's sticky failure keeps it from writing on either way.
func (s *durable) update(fn func(*bolt.Tx) error) (err error) {
	var tx *bolt.Tx
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt failed writing the file: %s", printable(fmt.Sprint(r), maxDetail))
			s.stuck = tx == nil || !rollback(tx)
		}
	}()
	if tx, err = s.db.Begin(true); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// rollback rolls back a write transaction after a panic and reports
// whether bbolt released its write lock.
func rollback(tx *bolt.Tx) (released bool) {
	defer func() {
		if recover() != nil {
			released = false
		}
	}()
	err := tx.Rollback()
	return err == nil || errors.Is(err, bolterrors.ErrTxClosed)
}
