package broker_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
)

// TestConcurrentApprovalsSettleOnce: 32 approvers approve a request needing
// one approval at the same moment. Exactly one wins, exactly one grant is
// signed and exactly one "approved" record is written; the others see the
// request already APPROVED.
func TestConcurrentApprovalsSettleOnce(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, read(0)).GetId()

	const n = 32
	var wg sync.WaitGroup
	release := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-release
			_, errs[i] = f.approve(broker.Caller{Subject: fmt.Sprintf("sre-%d", i), Groups: []string{"sre"}}, id)
		})
	}
	close(release)
	wg.Wait()

	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		assert.Equal(t, codes.FailedPrecondition, codeOf(err), err)
		assert.Contains(t, err.Error(), "APPROVED")
	}
	assert.Equal(t, 1, won)

	counts := map[string]int{}
	for _, r := range f.audit(id) {
		counts[r.Action]++
	}
	assert.Equal(t, map[string]int{"requested": 1, "reviewed": 1, "approved": 1, "grant_issued": 1}, counts)

	r, err := f.b.GetRequest(f.ctx(), alice, id)
	require.NoError(t, err)
	assert.Len(t, r.GetReviews(), 1)
	assert.Equal(t, uint64(2), r.GetRevision())
	assert.Equal(t, 1.0, metricValue(t, f.b, "jit_broker_grants_issued_total", nil))
}

// TestRequestsRunInParallel: transitions on different requests do not wait
// for each other (run with -race, it also checks the locking).
func TestRequestsRunInParallel(t *testing.T) {
	f := newFixture(t)
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			requester := broker.Caller{Subject: fmt.Sprintf("dev-%d", i), Groups: []string{"dev"}}
			r, err := f.b.RequestAccess(f.ctx(), requester, read(0))
			if !assert.NoError(t, err) {
				return
			}
			_, err = f.approve(bob, r.GetId())
			assert.NoError(t, err)
			_, err = f.revoke(requester, r.GetId())
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	list, err := f.b.ListRequests(f.ctx(), bob, &jitv1.ListRequestsRequest{State: jitv1.State_STATE_REVOKED})
	require.NoError(t, err)
	assert.Len(t, list.GetRequests(), n)
}
