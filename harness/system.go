package harness

import (
	"context"
	"net"

	"github.com/jitbench/jitbench/fakes"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// system is the broker and the protected service one topology runs, as
// the Env's caller, reviewer and faults reach them: in this process over
// bufconn or loopback TCP (localSystem), or in containers (clusterSystem).
type system interface {
	brokerAPI
	// dialBroker and dialService connect the caller to the broker and the
	// service (the address grpc passes is ignored); the client links wrap them.
	dialBroker(ctx context.Context, addr string) (net.Conn, error)
	dialService(ctx context.Context, addr string) (net.Conn, error)
	// rotateKey makes a new signing key current on the broker and returns its key id.
	rotateKey(ctx context.Context) (kid string, err error)
	// restartBroker stops the broker and starts it again on its store, at the same address.
	restartBroker(ctx context.Context) error
	// handlerRuns counts the protected handler's runs so far; false where they cannot be counted.
	handlerRuns() (int64, bool)
	// decisions adds the broker's approval decisions, from its audit log, to rec.
	decisions(ctx context.Context, rec *Record) error
	// containers returns the system's containers, for the container fault kinds.
	containers() (fakes.Containers, error)
	// close stops and removes everything the system started.
	close() error
}

// brokerAPI is the broker as the scripted reviewer reaches it: a member of
// the approver group who lists, reviews and revokes requests.
type brokerAPI interface {
	listRequests(ctx context.Context, in *jitv1.ListRequestsRequest) (*jitv1.ListRequestsResponse, error)
	review(ctx context.Context, in *jitv1.ReviewRequest) error
	revoke(ctx context.Context, in *jitv1.RevokeRequest) error
}

// requestsIn lists every request in state, page after page.
func requestsIn(ctx context.Context, api brokerAPI, state jitv1.State) ([]*jitv1.AccessRequest, error) {
	in := &jitv1.ListRequestsRequest{State: state}
	var out []*jitv1.AccessRequest
	for {
		page, err := api.listRequests(ctx, in)
		if err != nil {
			return out, err
		}
		out = append(out, page.GetRequests()...)
		if page.GetNextPageToken() == "" {
			return out, nil
		}
		in.PageToken = page.GetNextPageToken()
	}
}

// addDecision counts one audit record of the broker into rec, if it is a decision.
func addDecision(rec *Record, r store.AuditRecord) {
	switch r.Action {
	case "approved":
		rec.ApprovalLatencies = append(rec.ApprovalLatencies, r.ApprovalLatency)
	case "denied":
		rec.Denials++
	}
}
