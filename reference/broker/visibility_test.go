package broker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
)

// TestGrantOnlyForRequester: every way of reading an approved request gives
// the JWT to its requester only; approvers see its id and expiry.
func TestGrantOnlyForRequester(t *testing.T) {
	f := newFixture(t)
	id := f.request(alice, read(0)).GetId()
	reviewed, err := f.approve(bob, id)
	require.NoError(t, err)

	reads := map[string]func(c broker.Caller) *jitv1.AccessRequest{
		"get": func(c broker.Caller) *jitv1.AccessRequest {
			r, err := f.b.GetRequest(f.ctx(), c, id)
			require.NoError(t, err)
			return r
		},
		"list": func(c broker.Caller) *jitv1.AccessRequest {
			l, err := f.b.ListRequests(f.ctx(), c, &jitv1.ListRequestsRequest{})
			require.NoError(t, err)
			require.Len(t, l.GetRequests(), 1)
			return l.GetRequests()[0]
		},
		"watch": func(c broker.Caller) *jitv1.AccessRequest {
			revs, _ := f.watch(c, id)
			return next(t, revs)
		},
	}
	for name, get := range reads {
		t.Run(name, func(t *testing.T) {
			mine := get(alice)
			assert.NotEmpty(t, mine.GetGrant())
			theirs := get(carol)
			assert.Empty(t, theirs.GetGrant())
			assert.Equal(t, mine.GetGrantId(), theirs.GetGrantId())
			assert.Equal(t, mine.GetGrantExpiresAt().AsTime(), theirs.GetGrantExpiresAt().AsTime())
		})
	}
	t.Run("review response", func(t *testing.T) {
		assert.Empty(t, reviewed.GetGrant())
		assert.NotEmpty(t, reviewed.GetGrantId())
	})
	t.Run("clearing is on a copy", func(t *testing.T) {
		assert.NotEmpty(t, reads["get"](alice).GetGrant(), "a reviewer's view did not clear the stored grant")
	})
}
