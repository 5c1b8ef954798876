package store

import (
	"context"
	"fmt"
	"sync"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// memory is a Store that keeps everything in memory; see NewMemory.
type memory struct {
	mu     sync.RWMutex
	closed bool
	// Records are kept encoded, as on disk: see codec.go.
	requests    map[string][]byte
	revocations [][]byte // revocations[i] has sequence i+1
	audit       [][]byte // audit[i] has Seq i+1
	head        [hashLen]byte
}

// NewMemory returns a Store for tests with the durable store's semantics,
// minus durability: records are encoded and validated alike, sequences
// start at 1, reads return fresh copies, and it fails with ErrClosed after
// Close.
func NewMemory() Store {
	return &memory{requests: make(map[string][]byte)}
}

// Commit implements Store.
func (m *memory) Commit(ctx context.Context, b Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := encodeBatch(b)
	if err != nil {
		return err
	}
	revSeqs := make([]uint64, len(e.revocations))
	auditSeqs := make([]uint64, len(e.audit))
	auditHash := make([][hashLen]byte, len(e.audit))
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	for _, r := range e.requests {
		m.requests[r.id] = r.data
	}
	for i, data := range e.revocations {
		seq := uint64(len(m.revocations)) + 1
		m.revocations = append(m.revocations, withRevocationSeq(data, seq))
		revSeqs[i] = seq
	}
	for i, data := range e.audit {
		seq := uint64(len(m.audit)) + 1
		canonical := withAuditSeq(data, seq)
		m.head = chainHash(m.head, canonical)
		m.audit = append(m.audit, chainValue(m.head, canonical))
		auditSeqs[i], auditHash[i] = seq, m.head
	}
	m.mu.Unlock()
	assign(b, revSeqs, auditSeqs, auditHash)
	return nil
}

// Request implements Store.
func (m *memory) Request(id string) (*jitv1.AccessRequest, error) {
	m.mu.RLock()
	closed := m.closed
	data, ok := m.requests[id]
	m.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !ok:
		return nil, fmt.Errorf("request %q: %w", id, ErrNotFound)
	}
	return decodeRequest(id, data)
}

// Requests implements Store. fn runs outside the lock, on a snapshot taken
// at the call, so it may call the store (the durable store allows it too).
func (m *memory) Requests(fn func(*jitv1.AccessRequest) bool) error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	snapshot := make([]encodedRequest, 0, len(m.requests))
	for id, data := range m.requests {
		snapshot = append(snapshot, encodedRequest{id: id, data: data})
	}
	m.mu.RUnlock()
	for _, e := range snapshot {
		r, err := decodeRequest(e.id, e.data)
		if err != nil {
			return err
		}
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// Revocations implements Store.
func (m *memory) Revocations(after uint64, fn func(*jitv1.RevocationEvent) bool) error {
	feed, err := m.tail(func() [][]byte { return m.revocations }, after)
	if err != nil {
		return err
	}
	for i, data := range feed {
		ev, err := decodeRevocation(after+uint64(i)+1, data)
		if err != nil {
			return err
		}
		if !fn(ev) {
			return nil
		}
	}
	return nil
}

// Audit implements Store.
func (m *memory) Audit(after uint64, fn func(AuditRecord) bool) error {
	m.mu.RLock()
	var prev [hashLen]byte
	if after > 0 && after <= uint64(len(m.audit)) {
		copy(prev[:], m.audit[after-1])
	}
	m.mu.RUnlock()
	feed, err := m.tail(func() [][]byte { return m.audit }, after)
	if err != nil {
		return err
	}
	for i, data := range feed {
		rec, hash, err := decodeAudit(after+uint64(i)+1, prev, data)
		if err != nil {
			return err
		}
		prev = hash
		if !fn(rec) {
			return nil
		}
	}
	return nil
}

// tail returns the records of an append-only feed after a sequence. The
// returned slice may be read without the lock: append never rewrites the
// elements it already holds.
func (m *memory) tail(feed func() [][]byte, after uint64) ([][]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	all := feed()
	if after >= uint64(len(all)) {
		return nil, nil
	}
	return all[after:], nil
}

// Close implements Store; closing twice is harmless.
func (m *memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.requests, m.revocations, m.audit = nil, nil, nil
	return nil
}
