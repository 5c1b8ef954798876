package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
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
	assign(b, p.revSeqs, p.auditSeqs)
	return nil
}

// writer is the goroutine that writes every group, until Close.
func (s *durable) writer() {
	defer close(s.writerDone)
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
	err := s.db.Update(func(tx *bolt.Tx) error {
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
				if err == nil {
					err = audit.Put(seqKey(seq), withAuditSeq(data, seq))
				}
				if err != nil {
					return err
				}
				p.auditSeqs[i] = seq
			}
		}
		return nil
	})
	if err != nil {
		failed = fmt.Errorf("store: %s: %w: %v", s.path, ErrFailed, err)
	}
	for _, p := range live {
		p.done <- failed
	}
	return failed
}
