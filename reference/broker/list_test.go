package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
)

func TestListRequests(t *testing.T) {
	f := newFixture(t)
	// Five requests a minute apart: alice's at 0, 2, 4 minutes, sam's at 1, 3.
	var ids []string
	for i := range 5 {
		who := alice
		if i%2 == 1 {
			who = sam
		}
		ids = append(ids, f.request(who, read(0)).GetId())
		f.clock.Advance(time.Minute)
	}
	_, err := f.deny(bob, ids[4])
	require.NoError(t, err)

	idsOf := func(rs []*jitv1.AccessRequest) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.GetId()
		}
		return out
	}
	// pages lists everything c may see with filter in, page by page.
	pages := func(c broker.Caller, in *jitv1.ListRequestsRequest) [][]string {
		var out [][]string
		for {
			resp, err := f.b.ListRequests(f.ctx(), c, in)
			require.NoError(t, err)
			out = append(out, idsOf(resp.GetRequests()))
			if resp.GetNextPageToken() == "" {
				return out
			}
			in.PageToken = resp.GetNextPageToken()
		}
	}

	tests := []struct {
		name   string
		caller broker.Caller
		in     *jitv1.ListRequestsRequest
		want   [][]string
	}{
		{"approver sees all, newest first", bob, &jitv1.ListRequestsRequest{},
			[][]string{{ids[4], ids[3], ids[2], ids[1], ids[0]}}},
		{"pages of two", bob, &jitv1.ListRequestsRequest{PageSize: 2},
			[][]string{{ids[4], ids[3]}, {ids[2], ids[1]}, {ids[0]}}},
		{"by requester", bob, &jitv1.ListRequestsRequest{Requester: "sam"}, [][]string{{ids[3], ids[1]}}},
		{"by state", bob, &jitv1.ListRequestsRequest{State: jitv1.State_STATE_DENIED}, [][]string{{ids[4]}}},
		{"a requester sees their own", alice, &jitv1.ListRequestsRequest{}, [][]string{{ids[4], ids[2], ids[0]}}},
		{"a stranger sees nothing", eve, &jitv1.ListRequestsRequest{}, [][]string{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pages(tt.caller, tt.in))
		})
	}

	t.Run("a page token survives new requests", func(t *testing.T) {
		resp, err := f.b.ListRequests(f.ctx(), bob, &jitv1.ListRequestsRequest{PageSize: 2})
		require.NoError(t, err)
		f.request(alice, read(0))
		resp, err = f.b.ListRequests(f.ctx(), bob, &jitv1.ListRequestsRequest{PageSize: 2, PageToken: resp.GetNextPageToken()})
		require.NoError(t, err)
		assert.Equal(t, []string{ids[2], ids[1]}, idsOf(resp.GetRequests()))
	})
	for _, bad := range []*jitv1.ListRequestsRequest{{PageToken: "garbage!"}, {PageSize: -1}} {
		_, err := f.b.ListRequests(f.ctx(), bob, bad)
		assert.Equal(t, codes.InvalidArgument, codeOf(err), err)
	}
}
