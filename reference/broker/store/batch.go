package store

import (
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// maxIDLen bounds a request id: ids are broker-assigned and short, and
// bbolt refuses keys over 32 KiB inside the transaction, where the refusal
// would fail every commit sharing it.
const maxIDLen = 1024

// encodedRequest is one request ready to be written.
type encodedRequest struct {
	id   string
	data []byte // sealed under id
}

// encodedBatch is a Batch turned into bytes before any lock is taken, so
// that a record that cannot be stored fails its own Commit with ErrInvalid
// and never a transaction shared with other commits.
type encodedBatch struct {
	requests    []encodedRequest
	revocations [][]byte // without their sequence: see withRevocationSeq
	audit       [][]byte // with Seq 0: see withAuditSeq
}

// empty reports whether the batch changes nothing.
func (e *encodedBatch) empty() bool {
	return len(e.requests) == 0 && len(e.revocations) == 0 && len(e.audit) == 0
}

// encodeBatch checks and encodes every record of b.
func encodeBatch(b Batch) (*encodedBatch, error) {
	e := &encodedBatch{
		requests:    make([]encodedRequest, 0, len(b.Requests)),
		revocations: make([][]byte, 0, len(b.Revocations)),
		audit:       make([][]byte, 0, len(b.Audit)),
	}
	for i, r := range b.Requests {
		switch {
		case r == nil:
			return nil, fmt.Errorf("%w: request %d is nil", ErrInvalid, i)
		case r.GetId() == "":
			return nil, fmt.Errorf("%w: request %d has no id", ErrInvalid, i)
		case len(r.GetId()) > maxIDLen:
			return nil, fmt.Errorf("%w: request %d: id of %d bytes, at most %d", ErrInvalid, i, len(r.GetId()), maxIDLen)
		}
		data, err := proto.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("%w: request %q: %v", ErrInvalid, r.GetId(), err)
		}
		e.requests = append(e.requests, encodedRequest{id: r.GetId(), data: seal([]byte(r.GetId()), data)})
	}
	for i, ev := range b.Revocations {
		switch {
		case ev == nil:
			return nil, fmt.Errorf("%w: revocation %d is nil", ErrInvalid, i)
		case ev.GetHeartbeat():
			// A heartbeat proves freshness at send time; stored, it would lie.
			return nil, fmt.Errorf("%w: revocation %d is a heartbeat", ErrInvalid, i)
		case ev.GetGrantId() == "":
			return nil, fmt.Errorf("%w: revocation %d has no grant id", ErrInvalid, i)
		}
		data, err := proto.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("%w: revocation of %q: %v", ErrInvalid, ev.GetGrantId(), err)
		}
		e.revocations = append(e.revocations, data)
	}
	for i, rec := range b.Audit {
		data, err := encodeAudit(rec)
		if err != nil {
			return nil, fmt.Errorf("%w: audit record %d: %v", ErrInvalid, i, err)
		}
		e.audit = append(e.audit, data)
	}
	return e, nil
}

// assign writes the sequences a commit was given, and the audit records'
// chain hashes, back into the caller's records, once the commit is
// durable, as Batch promises.
func assign(b Batch, revSeqs, auditSeqs []uint64, auditHash [][hashLen]byte) {
	for i, ev := range b.Revocations {
		ev.Sequence = revSeqs[i]
	}
	for i := range b.Audit {
		b.Audit[i].Seq = auditSeqs[i]
		b.Audit[i].Hash = hex.EncodeToString(auditHash[i][:])
	}
}
