package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// Both stores keep records in their encoded form: the memory store then has
// exactly the durable store's semantics (what cannot be encoded is refused by
// both, and a read returns a fresh copy the caller may change freely).

// seqKey is a sequence number as a bbolt key: big-endian, so that byte order
// is numeric order and cursors walk the feed in sequence.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// keySeq reads a key written by seqKey.
func keySeq(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("sequence key of %d bytes, want 8", len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}

// decodeRequest reads a request stored by encodeBatch.
func decodeRequest(data []byte) (*jitv1.AccessRequest, error) {
	r := new(jitv1.AccessRequest)
	if err := proto.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	return r, nil
}

// withRevocationSeq completes a revocation encoded without its sequence.
// Appending field 1 is valid protobuf (the last value of a scalar field
// wins), so the message is marshalled, and can fail, outside the write
// transaction, and the sequence costs a few bytes inside it.
func withRevocationSeq(encoded []byte, seq uint64) []byte {
	out := make([]byte, 0, len(encoded)+10)
	out = append(out, encoded...)
	out = protowire.AppendTag(out, 1, protowire.VarintType)
	return protowire.AppendVarint(out, seq)
}

// decodeRevocation reads a revocation; the key is authoritative for its sequence.
func decodeRevocation(seq uint64, data []byte) (*jitv1.RevocationEvent, error) {
	ev := new(jitv1.RevocationEvent)
	if err := proto.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("decode revocation %d: %w", seq, err)
	}
	ev.Sequence = seq
	return ev, nil
}

// auditSeqPrefix is how every audit record encoded with Seq 0 begins: Seq is
// AuditRecord's first field and is never omitted.
var auditSeqPrefix = []byte(`{"seq":0,`)

// encodeAudit marshals rec with Seq 0, for withAuditSeq to complete inside
// the transaction; like revocations, the record fails, if it must, before
// it can fail a shared transaction.
func encodeAudit(rec AuditRecord) ([]byte, error) {
	rec.Seq = 0
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, auditSeqPrefix) {
		// Only a change to AuditRecord's field order can get here.
		return nil, fmt.Errorf("audit record encodes as %.20q, want prefix %q", data, auditSeqPrefix)
	}
	return data, nil
}

// withAuditSeq writes seq into an audit record from encodeAudit.
func withAuditSeq(encoded []byte, seq uint64) []byte {
	rest := encoded[len(`{"seq":0`):]
	out := make([]byte, 0, len(encoded)+20)
	out = append(out, `{"seq":`...)
	out = strconv.AppendUint(out, seq, 10)
	return append(out, rest...)
}

// decodeAudit reads an audit record; the key is authoritative for its Seq.
func decodeAudit(seq uint64, data []byte) (AuditRecord, error) {
	var rec AuditRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return AuditRecord{}, fmt.Errorf("decode audit record %d: %w", seq, err)
	}
	rec.Seq = seq
	return rec, nil
}
