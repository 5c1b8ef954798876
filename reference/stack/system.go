package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
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

// System is a running broker and protected service.
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
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.GrantKeys == nil {
		cfg.GrantKeys = token.DevKeySet(token.DevGrantIssuer)
	}
	svcCfg := cfg.Service.WithDefaults()
	var pol *policy.Policy
	if cfg.Policy == nil {
		// The default rule covers the Vault's methods for whatever audience
		// the service answers to: a grant's audience is the scope's service.
		pol = policy.Default()
		for i := range pol.Rules {
			pol.Rules[i].Match.Service = svcCfg.Audience
		}
	} else {
		// Copied: AutoApprove below must not change the caller's policy.
		pol = &policy.Policy{Rules: slices.Clone(cfg.Policy.Rules)}
	}
	if cfg.AutoApprove > 0 {
		for i := range pol.Rules {
			pol.Rules[i].AutoApprove = append(slices.Clone(pol.Rules[i].AutoApprove),
				policy.AutoApprove{Groups: []string{policy.AnyGroup}, After: cfg.AutoApprove})
		}
	}

	sys = &System{}
	defer func() {
		if err != nil {
			sys.Stop()
		}
	}()
	if cfg.DataDir == "" {
		sys.Store = store.NewMemory()
	} else if sys.Store, err = store.Open(cfg.DataDir, store.Options{}); err != nil {
		return sys, err
	}
	sys.brokerCfg = broker.Config{
		Store: sys.Store, Policy: pol, Clock: cfg.Clock, HeartbeatInterval: cfg.HeartbeatInterval,
		Issuer: token.NewIssuer(svcCfg.GrantIssuer, cfg.GrantKeys, cfg.Clock),
	}
	if sys.Broker, err = broker.New(sys.brokerCfg); err != nil {
		return sys, err
	}
	sys.brokerIdentity, err = token.NewIdentityVerifier(svcCfg.IdentityKeys, token.Config{
		Issuer: svcCfg.IdentityIssuer, Audience: BrokerAudience, Algorithms: svcCfg.Algorithms,
		Leeway: svcCfg.Leeway, Clock: cfg.Clock,
	})
	if err != nil {
		return sys, err
	}
	sys.BrokerServer = sys.newBrokerServer()

	// The service reaches the broker like any deployed verifier: over the
	// network, for keys and the revocation feed, with no identity.
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	target := brokerLis.Addr().String()
	if cfg.DialBroker != nil {
		dial = append(dial, grpc.WithContextDialer(cfg.DialBroker))
		target = "passthrough:///" + target
	}
	if sys.brokerConn, err = grpc.NewClient(target, dial...); err != nil {
		return sys, err
	}
	client := jitv1.NewBrokerClient(sys.brokerConn)
	var followCtx context.Context
	followCtx, sys.cancel = context.WithCancel(context.Background())
	sys.Keys = brokerclient.NewKeySource(client, brokerclient.KeySourceOptions{Clock: svcCfg.Clock})
	sys.Revocations = brokerclient.Follow(followCtx, client, brokerclient.FollowOptions{
		Mode: cfg.RevocationMode, MaxStaleness: cfg.MaxStaleness, Clock: svcCfg.Clock})

	svc := cfg.Service
	svc.Revocations = sys.Revocations
	svc.GrantKeys = sys.Keys
	if cfg.ServiceGrantKeys != nil {
		svc.GrantKeys = cfg.ServiceGrantKeys
	}
	if svc.AccessHint == "" {
		svc.AccessHint = "request access from the broker at " + target + " (jitbench access request)"
	}
	if sys.Service, err = New(svc); err != nil {
		return sys, err
	}
	return sys, nil
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
