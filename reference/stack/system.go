package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/token"
)

// BrokerAudience is the aud identity tokens for the broker carry: a token
// for the Vault cannot be replayed against the broker, and back.
const BrokerAudience = "jit.v1.Broker"

// SystemConfig describes the whole reference system: a broker and the
// protected service that trusts it.
type SystemConfig struct {
	// Service configures the protected service. Its GrantKeys and
	// Revocations are left nil: the service fetches keys from the broker and
	// follows its revocation feed, as a deployed verifier would.
	Service Config
	// DataDir holds the broker's durable state; empty keeps it in memory.
	DataDir string
	// Policy decides approvals; nil means policy.Default().
	Policy *policy.Policy
	// AutoApprove, when positive, approves every request after this delay (demos and load runs).
	AutoApprove time.Duration
	// GrantKeys are the broker's signing keys (private); nil means the development keys.
	GrantKeys *token.KeySet
	// RevocationMode and MaxStaleness say what the service does when it loses the revocation feed.
	RevocationMode brokerclient.Mode
	MaxStaleness   time.Duration
	// HeartbeatInterval spaces revocation heartbeats; zero means the broker's default.
	HeartbeatInterval time.Duration
	// Clock is the broker's clock; the service's is Service.Clock.
	Clock clockwork.Clock
	// DialBroker connects the service to the broker; nil dials the broker listener's TCP address.
	DialBroker func(ctx context.Context, addr string) (net.Conn, error)
	// ServiceGrantKeys, when set, are the keys the service verifies grants
	// with instead of the broker's: a verifier configured with the wrong key,
	// as fault scenarios reproduce. The revocation feed is still followed.
	ServiceGrantKeys token.KeyResolver
}

// System is a running broker and protected service, or only one of them
// (StartBroker, StartService), whose other half's fields are nil.
//
// Broker and BrokerServer are replaced by RestartBroker; do not use them
// concurrently with a restart.
type System struct {
	Broker       *broker.Broker
	BrokerServer *grpc.Server
	Store        store.Store
	Service      *Service
	Revocations  *brokerclient.Revocations
	Keys         *brokerclient.KeySource
	brokerConn   *grpc.ClientConn
	cancel       context.CancelFunc
	// brokerCfg and brokerIdentity rebuild the broker on RestartBroker.
	brokerCfg      broker.Config
	brokerIdentity *token.IdentityVerifier
}

// StartSystem starts the broker on brokerLis and the service on serviceLis
// and returns once the service has heard the broker's revocation feed (or ctx ends).
func StartSystem(ctx context.Context, cfg SystemConfig, brokerLis, serviceLis net.Listener) (*System, error) {
	sys, err := newSystem(cfg, brokerLis)
	if err != nil {
		return nil, err
	}
	go func() { _ = sys.BrokerServer.Serve(brokerLis) }()
	go func() { _ = sys.Service.Serve(serviceLis) }()
	if err := sys.Revocations.Wait(ctx); err != nil {
		sys.Stop()
		return nil, fmt.Errorf("the service did not hear the broker's revocation feed: %w", err)
	}
	return sys, nil
}

func newSystem(cfg SystemConfig, brokerLis net.Listener) (sys *System, err error) {
	sys = &System{}
	defer func() {
		if err != nil {
			sys.Stop()
		}
	}()
	if err := sys.buildBroker(cfg); err != nil {
		return sys, err
	}
	return sys, sys.buildService(cfg, brokerLis.Addr().String())
}

// newBrokerServer is the broker's gRPC server: identity-checked broker API, health and reflection.
func (s *System) newBrokerServer() *grpc.Server {
	ic := interceptor.NewServer(interceptor.ServerConfig{Identity: s.brokerIdentity, Policy: broker.ServerPolicy})
	srv := grpc.NewServer(ic.ServerOptions()...)
	jitv1.RegisterBrokerServer(srv, broker.NewServer(s.Broker))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	return srv
}

// RestartBroker stops the broker and its server (every connection and
// stream to it breaks) and starts a new broker on the same store, keys,
// policy and clock, serving on lis: a crash and restart as its clients see
// it. lis must answer at the address the system was started with, since the
// service reconnects there; the old listener is closed by the stop.
func (s *System) RestartBroker(lis net.Listener) error {
	s.BrokerServer.Stop()
	if err := s.Broker.Close(); err != nil {
		return fmt.Errorf("stop the broker: %w", err)
	}
	b, err := broker.New(s.brokerCfg)
	if err != nil {
		return fmt.Errorf("restart the broker: %w", err)
	}
	s.Broker = b
	s.BrokerServer = s.newBrokerServer()
	go func() { _ = s.BrokerServer.Serve(lis) }()
	return nil
}

// Stop stops both servers, the revocation follower and the broker, then closes the store.
func (s *System) Stop() {
	if s.Service != nil {
		s.Service.Server.Stop()
	}
	if s.cancel != nil {
		s.cancel()
	}
	if s.brokerConn != nil {
		_ = s.brokerConn.Close()
	}
	if s.BrokerServer != nil {
		s.BrokerServer.Stop()
	}
	var errs []error
	if s.Broker != nil {
		errs = append(errs, s.Broker.Close())
	}
	if s.Store != nil {
		errs = append(errs, s.Store.Close())
	}
	_ = errors.Join(errs...)
}
