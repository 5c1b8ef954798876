package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// Both stores keep records in their encoded form: the memory store then has
// exactly the durable store's semantics (what cannot be encoded is refused by
// both, and a read returns a fresh copy the caller may change freely).
//
// Every value checks itself on read: requests and revocations are sealed
// with a CRC-32C, which catches damage (a torn page, a flipped bit), and
// audit records are chained by SHA-256, which also makes a change to one
// record evident unless every later hash is recomputed (see chainHash).

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

// sealLen is the size of the checksum a sealed value begins with.
const sealLen = 4

// castagnoli is CRC-32C's table: hardware-accelerated on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sealSum is the checksum of a value stored under key. The key is covered
// so that a value copied under another key fails too.
func sealSum(key, payload []byte) uint32 {
	sum := crc32.Update(0, castagnoli, binary.AppendUvarint(nil, uint64(len(key))))
	sum = crc32.Update(sum, castagnoli, key)
	return crc32.Update(sum, castagnoli, payload)
}

// seal returns payload prefixed with its checksum under key, big-endian.
func seal(key, payload []byte) []byte {
	out := binary.BigEndian.AppendUint32(make([]byte, 0, sealLen+len(payload)), sealSum(key, payload))
	return append(out, payload...)
}

// unseal checks a value written by seal and returns its payload.
func unseal(key, value []byte) ([]byte, error) {
	if len(value) < sealLen {
		return nil, fmt.Errorf("value of %d bytes, shorter than its checksum", len(value))
	}
	payload := value[sealLen:]
	if binary.BigEndian.Uint32(value) != sealSum(key, payload) {
		return nil, fmt.Errorf("checksum mismatch: the value was damaged or changed after it was written")
	}
	return payload, nil
}

// decodeRequest reads a request stored under id by encodeBatch.
func decodeRequest(id string, value []byte) (*jitv1.AccessRequest, error) {
	data, err := unseal([]byte(id), value)
	if err != nil {
		return nil, err
	}
	r := new(jitv1.AccessRequest)
	if err := proto.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if r.GetId() != id {
		return nil, fmt.Errorf("stored under %q but its id is %q", id, r.GetId())
	}
	return r, nil
}

// withRevocationSeq completes a revocation encoded without its sequence and
// seals it. Appending field 1 is valid protobuf (the last value of a scalar
// field wins), so the message is marshalled, and can fail, outside the
// write transaction, and the sequence costs a few bytes inside it.
func withRevocationSeq(encoded []byte, seq uint64) []byte {
	out := make([]byte, 0, len(encoded)+10)
	out = append(out, encoded...)
	out = protowire.AppendTag(out, 1, protowire.VarintType)
	return seal(seqKey(seq), protowire.AppendVarint(out, seq))
}

// decodeRevocation reads a revocation stored under seq by withRevocationSeq.
func decodeRevocation(seq uint64, value []byte) (*jitv1.RevocationEvent, error) {
	data, err := unseal(seqKey(seq), value)
	if err != nil {
		return nil, err
	}
	ev := new(jitv1.RevocationEvent)
	if err := proto.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if ev.GetSequence() != seq {
		return nil, fmt.Errorf("stored as %d but its sequence is %d", seq, ev.GetSequence())
	}
	return ev, nil
}

// auditSeqPrefix is how every audit record encoded with Seq 0 begins: Seq is
// AuditRecord's first field and is never omitted.
var auditSeqPrefix = []byte(`{"seq":0,`)

// canonicalAudit is the one encoding of rec that the chain hashes: its JSON
// as encoding/json writes it, fields in declaration order, without Hash.
func canonicalAudit(rec AuditRecord) ([]byte, error) {
	rec.Hash = ""
	return json.Marshal(rec)
}

// encodeAudit marshals rec with Seq 0, for withAuditSeq to complete inside
// the transaction; like revocations, the record fails, if it must, before
// it can fail a shared transaction.
func encodeAudit(rec AuditRecord) ([]byte, error) {
	rec.Seq = 0
	data, err := canonicalAudit(rec)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, auditSeqPrefix) {
		// Only a change to AuditRecord's field order can get here.
		return nil, fmt.Errorf("audit record encodes as %.20q, want prefix %q", data, auditSeqPrefix)
	}
	return data, nil
}

// withAuditSeq writes seq into an audit record from encodeAudit, giving
// its canonical bytes.
func withAuditSeq(encoded []byte, seq uint64) []byte {
	rest := encoded[len(`{"seq":0`):]
	out := make([]byte, 0, len(encoded)+20)
	out = append(out, `{"seq":`...)
	out = strconv.AppendUint(out, seq, 10)
	return append(out, rest...)
}

// hashLen is the size of an audit record's chain hash.
const hashLen = sha256.Size

// chainHash links an audit record to the one before it: SHA-256 over the
// previous record's hash (zeros for the first record) and this record's
// canonical bytes. A record changed in place no longer matches its hash;
// one removed or reordered breaks the link of the next. Anyone who can
// write the file can recompute the whole chain, so the head hash (which
// `jitbench audit verify` prints) is worth keeping elsewhere.
func chainHash(prev [hashLen]byte, canonical []byte) [hashLen]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(canonical)
	var out [hashLen]byte
	h.Sum(out[:0])
	return out
}

// chainValue is what the stores keep for an audit record: its hash, then
// its canonical bytes.
func chainValue(hash [hashLen]byte, canonical []byte) []byte {
	out := make([]byte, 0, hashLen+len(canonical))
	out = append(out, hash[:]...)
	return append(out, canonical...)
}

// decodeAudit checks the audit record stored under seq against the hash of
// the record before it, and returns it with its own hash. Every failure is
// a broken link of the chain: the log is not the one that was written.
func decodeAudit(seq uint64, prev [hashLen]byte, value []byte) (AuditRecord, [hashLen]byte, error) {
	var hash [hashLen]byte
	broken := func(format string, args ...any) (AuditRecord, [hashLen]byte, error) {
		return AuditRecord{}, hash, fmt.Errorf("%w at record %d: %s", ErrChainBroken, seq, fmt.Sprintf(format, args...))
	}
	if len(value) <= hashLen {
		return broken("value of %d bytes, too short to hold a hash and a record", len(value))
	}
	canonical := value[hashLen:]
	copy(hash[:], value)
	if chainHash(prev, canonical) != hash {
		return broken("its hash does not match its contents and the record before it: changed or damaged after it was written")
	}
	var rec AuditRecord
	if err := json.Unmarshal(canonical, &rec); err != nil {
		return broken("not a record: %v", err)
	}
	if again, err := canonicalAudit(rec); err != nil || !bytes.Equal(again, canonical) {
		// The hash matched: whoever wrote these bytes also wrote the chain.
		return broken("not in the canonical encoding jitbench writes")
	}
	if rec.Seq != seq {
		return broken("it says it is record %d", rec.Seq)
	}
	rec.Hash = hex.EncodeToString(hash[:])
	return rec, hash, nil
}
