package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// maxDetail bounds what an error quotes of a damaged file, so that it
// stays one readable line (bbolt's check quotes keys in hex).
const maxDetail = 400

// corruptError is ErrCorrupt for one file, saying what is wrong with it.
type corruptError struct {
	path   string
	detail error
}

// corrupt returns an error wrapping ErrCorrupt and detail for the file at path.
func corrupt(path string, detail error) error {
	return &corruptError{path: path, detail: detail}
}

func (e *corruptError) Error() string {
	return printable("store: "+e.path+": "+ErrCorrupt.Error()+": "+e.detail.Error(), len(e.path)+maxDetail)
}

func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, e.detail} }

// printable returns s as one line of printable ASCII, escaping anything
// else Go-style and cutting it at about max bytes: messages about damaged
// files quote the damage, and must not carry it to a terminal raw.
func printable(s string, max int) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			plain = false
			break
		}
	}
	if !plain {
		q := strconv.QuoteToASCII(s)
		s = q[1 : len(q)-1]
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// checkRecords checks a store's layout and reads back every request and
// revocation, as Open does before the broker trusts any of it: bbolt's
// consistency check, the buckets this schema has and no others, and each
// record's checksum, encoding and key. The audit log is verifyChain's.
func checkRecords(tx *bolt.Tx) error {
	var problems []error
	for err := range tx.Check() {
		// Drained to the end: Check's goroutine blocks until it is.
		problems = append(problems, err)
	}
	switch len(problems) {
	case 0:
	case 1:
		return fmt.Errorf("bbolt consistency check: %w", problems[0])
	default:
		return fmt.Errorf("bbolt consistency check: %w (and %d more problems)", problems[0], len(problems)-1)
	}
	if err := checkSchema(tx); err != nil {
		return err
	}
	c := tx.Bucket(bucketRequests).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			return fmt.Errorf("requests: %q is a bucket, not a request", k)
		}
		if _, err := decodeRequest(string(k), v); err != nil {
			return fmt.Errorf("request %q: %w", k, err)
		}
	}
	b := tx.Bucket(bucketRevocations)
	n, err := walkFeed(b, func(seq uint64, v []byte) error {
		if _, err := decodeRevocation(seq, v); err != nil {
			return fmt.Errorf("revocation %d: %w", seq, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != b.Sequence() {
		return fmt.Errorf("revocations: the feed ends at %d, but %d were written", n, b.Sequence())
	}
	return nil
}

// checkSchema checks that the root holds exactly this schema's buckets and
// that the schema version is this code's.
func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("no %q bucket: not a jitbench broker store", bucketMeta)
	}
	got := meta.Get(keySchema)
	if len(got) != 8 {
		return fmt.Errorf("schema version missing or malformed (%d bytes)", len(got))
	}
	switch v, _ := keySeq(got); {
	case v == 1:
		return errors.New("schema version 1, written by an older jitbench without record checksums or an audit hash chain; " +
			"this broker reads 2 and does not convert: export the audit log with the older jitbench, then start with an empty data directory")
	case v != schemaVersion:
		return fmt.Errorf("schema version %d, this broker reads %d", v, schemaVersion)
	}
	if e := meta.Get(keyEpoch); e != nil && len(e) != epochBytes {
		return fmt.Errorf("revocation feed epoch of %d bytes, want %d", len(e), epochBytes)
	}
	known := map[string]bool{string(bucketMeta): true}
	for _, name := range dataBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("bucket %q missing", name)
		}
		known[string(name)] = true
	}
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if b == nil || !known[string(name)] {
			return fmt.Errorf("unexpected %q at the root: not a jitbench broker store", name)
		}
		return nil
	})
}

// walkFeed calls fn for each record of an append-only bucket keyed by
// seqKey, checking that the keys run 1, 2, 3... without a gap, and
// returns the last sequence.
func walkFeed(b *bolt.Bucket, fn func(seq uint64, v []byte) error) (uint64, error) {
	var last uint64
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq, err := keySeq(k)
		switch {
		case err != nil:
			return last, fmt.Errorf("after record %d: %w", last, err)
		case seq != last+1:
			return last, fmt.Errorf("record %d is missing (the next is %d)", last+1, seq)
		case v == nil:
			return last, fmt.Errorf("record %d is a bucket", seq)
		}
		if err := fn(seq, v); err != nil {
			return last, err
		}
		last = seq
	}
	return last, nil
}

// chainHead is the end of the audit chain: the last record and its hash.
type chainHead struct {
	seq  uint64
	hash [hashLen]byte
}

// verifyChain checks every audit record against the hash chain and
// returns its head. Every failure wraps ErrChainBroken and names the first
// record that fails: one changed, removed, reordered or cut off the end.
func verifyChain(tx *bolt.Tx) (chainHead, error) {
	var head chainHead
	b := tx.Bucket(bucketAudit)
	_, err := walkFeed(b, func(seq uint64, v []byte) error {
		_, hash, err := decodeAudit(seq, head.hash, v)
		if err != nil {
			return err
		}
		head = chainHead{seq: seq, hash: hash}
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrChainBroken) {
			err = fmt.Errorf("%w: %w", ErrChainBroken, err)
		}
		return head, err
	}
	if written := b.Sequence(); head.seq != written {
		return head, fmt.Errorf("%w: the log ends at record %d, but %d were written", ErrChainBroken, head.seq, written)
	}
	return head, nil
}

// AuditChain describes an audit log whose hash chain is intact.
type AuditChain struct {
	// Records is how many records the log holds.
	Records uint64
	// Head is the last record's hash in hex (empty for an empty log): a
	// copy kept elsewhere shows later whether the log was rewritten whole.
	Head string
}

// VerifyAudit checks the audit hash chain of the store in dir, which must
// exist and must not be open elsewhere. It returns the chain's length and
// head; an error wrapping ErrChainBroken (and ErrCorrupt) that names the
// first record that fails; or, for a store that cannot be opened at all,
// the error Open would return.
func VerifyAudit(dir string) (AuditChain, error) {
	path := filepath.Join(dir, fileName)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return AuditChain{}, fmt.Errorf("store: %s: no broker state here: %w", dir, err)
		}
		return AuditChain{}, fmt.Errorf("store: %w", err)
	}
	db, _, err := openChecked(path, Options{})
	if err != nil {
		return AuditChain{}, err
	}
	defer db.Close()
	var head chainHead
	err = safeView(db, func(tx *bolt.Tx) (err error) {
		head, err = verifyChain(tx)
		return err
	})
	if err != nil {
		return AuditChain{}, corrupt(path, err)
	}
	chain := AuditChain{Records: head.seq}
	if head.seq > 0 {
		chain.Head = hex.EncodeToString(head.hash[:])
	}
	return chain, nil
}
