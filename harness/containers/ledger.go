package containers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// Ledger is what a broker acknowledged to Churn: what it must still know
// after any crash.
type Ledger struct {
	// Requested holds the ids of requests RequestAccess answered.
	Requested map[string]bool
	// Approved maps request ids to grant ids, for approvals seen on Watch.
	Approved map[string]string
	// RevokeTried holds the requests a Revoke was sent for, answered or not.
	RevokeTried map[string]bool
	// Revoked maps request ids to grant ids, for revocations Revoke answered.
	Revoked map[string]string
}

func newLedger() Ledger {
	return Ledger{Requested: map[string]bool{}, Approved: map[string]string{}, RevokeTried: map[string]bool{}, Revoked: map[string]string{}}
}

// ErrNotDurable is returned when something the broker acknowledged is lost or changed.
var ErrNotDurable = errors.New("acknowledged state lost")

// CheckBroker asks the broker (client is the requester's) for every
// acknowledged request: it must exist, keep the grant it was approved
// with, and be REVOKED if its revocation was acknowledged (a revoked grant
// never comes back), or APPROVED or ENDED if no revocation was sent.
func (l Ledger) CheckBroker(ctx context.Context, client jitv1.BrokerClient) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(l.Requested)) {
		r, err := client.GetRequest(ctx, &jitv1.GetRequestRequest{Id: id})
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: request %s: %v", ErrNotDurable, id, err))
			continue
		}
		gid, approved := l.Approved[id]
		if !approved {
			continue // acknowledged while pending: any state it reached since is fine
		}
		if r.GetGrantId() != gid {
			errs = append(errs, fmt.Errorf("%w: request %s was approved with grant %s, now has %q", ErrNotDurable, id, gid, r.GetGrantId()))
		}
		allowed := []jitv1.State{jitv1.State_STATE_APPROVED, jitv1.State_STATE_ENDED}
		switch {
		case l.Revoked[id] != "":
			allowed = []jitv1.State{jitv1.State_STATE_REVOKED}
		case l.RevokeTried[id]:
			allowed = append(allowed, jitv1.State_STATE_REVOKED) // sent, unanswered: either way
		}
		if !slices.Contains(allowed, r.GetState()) {
			errs = append(errs, fmt.Errorf("%w: request %s is %s, want one of %v", ErrNotDurable, id, r.GetState(), allowed))
		}
	}
	return errors.Join(errs...)
}

// CheckFeed checks that every acknowledged revocation is in feed, the
// grant ids a replay of the revocation feed delivered (RevocationFeed).
func (l Ledger) CheckFeed(feed map[string]bool) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(l.Revoked)) {
		if !feed[l.Revoked[id]] {
			errs = append(errs, fmt.Errorf("%w: request %s: revoked grant %s is not in the revocation feed", ErrNotDurable, id, l.Revoked[id]))
		}
	}
	return errors.Join(errs...)
}

// CheckAudit checks that the audit log records every acknowledged
// transition (requested; approved and grant_issued with the grant;
// revoked with the grant) and that its sequence has no hole.
func (l Ledger) CheckAudit(recs []store.AuditRecord) error {
	var errs []error
	seen := map[string]map[string]string{} // action → request id → grant id
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			errs = append(errs, fmt.Errorf("%w: audit record %d has seq %d: the log has a hole or is out of order", ErrNotDurable, i+1, r.Seq))
			break
		}
		if seen[r.Action] == nil {
			seen[r.Action] = map[string]string{}
		}
		seen[r.Action][r.RequestID] = r.GrantID
	}
	has := func(action, id string) bool { _, ok := seen[action][id]; return ok }
	for _, id := range slices.Sorted(maps.Keys(l.Requested)) {
		if !has("requested", id) {
			errs = append(errs, fmt.Errorf("%w: request %s: no requested record", ErrNotDurable, id))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(l.Approved)) {
		gid := l.Approved[id]
		if !has("approved", id) {
			errs = append(errs, fmt.Errorf("%w: request %s: no approved record", ErrNotDurable, id))
		}
		if got := seen["grant_issued"][id]; got != gid {
			errs = append(errs, fmt.Errorf("%w: request %s: grant_issued record names %q, want %s", ErrNotDurable, id, got, gid))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(l.Revoked)) {
		if got := seen["revoked"][id]; got != l.Revoked[id] {
			errs = append(errs, fmt.Errorf("%w: request %s: revoked record names %q, want %s", ErrNotDurable, id, got, l.Revoked[id]))
		}
	}
	return errors.Join(errs...)
}

// RevocationFeed replays a broker's revocation feed from its start, up to
// the heartbeat that follows the replay, and returns the revoked grant ids.
// The feed is open: client needs no identity.
func RevocationFeed(ctx context.Context, client jitv1.BrokerClient) (map[string]bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.WatchRevocations(ctx, &jitv1.WatchRevocationsRequest{AfterSequence: 0})
	if err != nil {
		return nil, fmt.Errorf("watch revocations: %w", err)
	}
	seen := map[string]bool{}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return nil, fmt.Errorf("revocation feed: %w", err)
		}
		if ev.GetHeartbeat() {
			return seen, nil
		}
		seen[ev.GetGrantId()] = true
	}
}
