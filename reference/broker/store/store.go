// Package store keeps the broker's state durable: access requests (with
// their reviews and grants), the revocation feed and the audit log. A change
// is acknowledged only after it is on disk, and concurrent commits share one
// fsync, so durability does not cap throughput.
//
// What is read back is what was written, or an error: Open checks the
// whole file before the broker trusts any of it (bbolt's page structure,
// a checksum on every request and revocation, the audit log's SHA-256 hash
// chain) and refuses a damaged one, every read checks its records again,
// and damage met while running fails the call, never the process.
package store

import (
	"context"
	"errors"
	"time"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// AuditRecord is one audited transition.
type AuditRecord struct {
	// Seq orders records; assigned by the store on commit, starting at 1.
	Seq uint64 `json:"seq"`
	// At is when the transition happened (broker clock).
	At time.Time `json:"at"`
	// RequestID is the access request concerned.
	RequestID string `json:"request_id"`
	// Actor is who made it: a subject, "policy" or "timer".
	Actor string `json:"actor"`
	// Action is what happened: "requested", "reviewed", "approved", "denied", "expired", "withdrawn", "ended", "revoked", "grant_issued".
	Action string `json:"action"`
	// From and To are the states before and after (equal for a review that does not decide).
	From string `json:"from"`
	To   string `json:"to"`
	// Reason is the actor's comment or the rule that applied.
	Reason string `json:"reason,omitempty"`
	// ApprovalLatency is how long the request waited for its decision, on decisions.
	ApprovalLatency time.Duration `json:"approval_latency_ns,omitempty"`
	// GrantID is the jti issued or revoked, when there is one.
	GrantID string `json:"grant_id,omitempty"`
	// Hash is the record's link in the audit hash chain, in hex: SHA-256
	// over the previous record's hash (32 zero bytes for record 1) and
	// this record's canonical bytes, which are its JSON encoding without
	// Hash. Stores fill it on read and ignore it on commit.
	Hash string `json:"hash,omitempty"`
}

// Batch is what one transition changes; it commits atomically.
type Batch struct {
	// Requests are stored whole, replacing the previous revision.
	Requests []*jitv1.AccessRequest
	// Revocations are appended to the feed; the store assigns their Sequence.
	Revocations []*jitv1.RevocationEvent
	// Audit records are appended; the store assigns their Seq and Hash.
	Audit []AuditRecord
}

// Store is the broker's durable state.
type Store interface {
	// Commit writes b atomically and durably; it returns only once b survives a crash.
	Commit(ctx context.Context, b Batch) error
	// Request returns one request, or ErrNotFound.
	Request(id string) (*jitv1.AccessRequest, error)
	// Requests calls fn for every stored request, in no particular order, until fn returns false; a damaged record ends the walk with an error wrapping ErrCorrupt.
	Requests(fn func(*jitv1.AccessRequest) bool) error
	// Revocations calls fn for every revocation with a sequence larger than after, in order.
	Revocations(after uint64, fn func(*jitv1.RevocationEvent) bool) error
	// Audit calls fn for every audit record with Seq larger than after, in order, each checked against its hash chain; a record that fails it ends the walk with an error wrapping ErrChainBroken.
	Audit(after uint64, fn func(AuditRecord) bool) error
	// Close releases the store.
	Close() error
}

// Errors a store returns.
var (
	// ErrNotFound is returned for an unknown request id.
	ErrNotFound = errors.New("not found")
	// ErrCorrupt is returned by Open when the data directory cannot be read back, and by reads that find damage later; the broker refuses to start rather than start empty.
	ErrCorrupt = errors.New("corrupt data directory")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store closed")
	// ErrInvalid is returned by Commit for a batch that cannot be stored; nothing of it is written.
	ErrInvalid = errors.New("invalid batch")
	// ErrLocked is returned by Open when another process (or another Open) holds the data directory.
	ErrLocked = errors.New("data directory in use")
	// ErrFailed is returned by every Commit after a write failed: what reached the disk is unknown until the store is reopened.
	ErrFailed = errors.New("store failed")
	// ErrChainBroken is wrapped, with ErrCorrupt, by errors about an audit record that fails the hash chain: the log is not the one that was written.
	ErrChainBroken = errors.New("audit hash chain broken")
)
