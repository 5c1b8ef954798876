package stack

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
)

// StartService starts only the protected service of cfg, trusting the
// broker at brokerTarget (host:port): what `jitbench serve --role vault`
// runs, with the broker in another process or container. It waits for the
// broker's revocation feed (retrying until ctx ends, so the broker may
// start later) and fetches its keys before it serves on lis, so a service
// that answers its health check is ready to verify grants.
// The broker fields of cfg (DataDir, Policy, AutoApprove, GrantKeys,
// HeartbeatInterval, Clock) are not read. The returned System has no
// Broker; Stop stops the service and its broker connection.
func StartService(ctx context.Context, cfg SystemConfig, brokerTarget string, lis net.Listener) (*System, error) {
	sys := &System{}
	if err := sys.buildService(cfg, brokerTarget, grpc.WithKeepaliveParams(brokerKeepalive)); err != nil {
		sys.Stop()
		return nil, err
	}
	// The feed is followed with retries: the broker may come up after the
	// service. Once it is heard the broker answers, and keys are fetched.
	if err := sys.Revocations.Wait(ctx); err != nil {
		sys.Stop()
		return nil, fmt.Errorf("the service did not hear the revocation feed of the broker at %s: %w (last error: %s)",
			brokerTarget, err, sys.Revocations.Status().LastError)
	}
	if err := sys.Keys.Refresh(ctx); err != nil {
		sys.Stop()
		return nil, fmt.Errorf("fetch the grant keys from the broker at %s: %w", brokerTarget, err)
	}
	go func() { _ = sys.Service.Serve(lis) }()
	return sys, nil
}

// brokerKeepalive lets a service on its own notice a connection to the
// broker that died silently (a partition healed with the service on a new
// address leaves its revocation stream waiting for bytes that never come):
// after 10 s without a frame (the broker's heartbeats come every few
// seconds) it pings, and without an answer in 5 s it reconnects. The
// broker's default enforcement accepts this: it sends data between pings.
var brokerKeepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}

// buildService connects s to the broker at target for keys and the
// revocation feed, and builds the protected service that uses them.
func (s *System) buildService(cfg SystemConfig, target string, opts ...grpc.DialOption) (err error) {
	svcCfg := cfg.Service.WithDefaults()
	// The service reaches the broker like any deployed verifier: over the
	// network, for keys and the revocation feed, with no identity.
	dial := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	if cfg.DialBroker != nil {
		dial = append(dial, grpc.WithContextDialer(cfg.DialBroker))
		target = "passthrough:///" + target
	}
	if s.brokerConn, err = grpc.NewClient(target, dial...); err != nil {
		return err
	}
	client := jitv1.NewBrokerClient(s.brokerConn)
	var followCtx context.Context
	followCtx, s.cancel = context.WithCancel(context.Background())
	// The follower keeps a revocation as long as the verifier could accept
	// the grant (exp plus its leeway), and announces key-set changes to the
	// key source, which then refetches under the same mode.
	s.Revocations = brokerclient.Follow(followCtx, client, brokerclient.FollowOptions{
		Mode: cfg.RevocationMode, MaxStaleness: cfg.MaxStaleness, Clock: svcCfg.Clock, Leeway: svcCfg.Leeway})
	s.Keys = brokerclient.NewKeySource(client, brokerclient.KeySourceOptions{
		Clock: svcCfg.Clock, Announcer: s.Revocations, Mode: cfg.RevocationMode})

	svc := cfg.Service
	svc.Revocations = s.Revocations
	svc.GrantKeys = s.Keys
	if cfg.ServiceGrantKeys != nil {
		svc.GrantKeys = cfg.ServiceGrantKeys
	}
	if svc.AccessHint == "" {
		svc.AccessHint = "request access from the broker at " + target + " (jitbench access request)"
	}
	s.Service, err = New(svc)
	return err
}
