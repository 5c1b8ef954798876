package containers

import (
	"time"

	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// DevIdentity signs an identity token for subject and audience with the
// development identity provider's keys, which a cluster trusts by default.
func DevIdentity(subject, audience string, ttl time.Duration) (string, error) {
	return token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil).Identity(
		token.IdentitySpec{Subject: subject, Audience: audience, TTL: ttl})
}

// DialBroker connects to the broker at addr as subject (a development
// identity for the broker's audience, valid an hour). The connection
// reconnects quickly, so a client sees a restarted broker within a second.
func DialBroker(addr, subject string) (*grpc.ClientConn, error) {
	id, err := DevIdentity(subject, stack.BrokerAudience, time.Hour)
	if err != nil {
		return nil, err
	}
	return load.BrokerConn(addr, id, fastReconnect)
}
