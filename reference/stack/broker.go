package stack

import (
	"net"
	"slices"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/token"
)

// StartBroker starts only the broker of cfg, serving on lis: what
// `jitbench serve --role broker` runs, with the protected service in
// another process or container. Of cfg.Service only the identity provider,
// algorithms, leeway, grant issuer and audience are read (who may call the
// broker, and which service the default policy covers). The returned System
// has no Service; Stop and RestartBroker work as for a whole system.
func StartBroker(cfg SystemConfig, lis net.Listener) (sys *System, err error) {
	sys = &System{}
	if err := sys.buildBroker(cfg); err != nil {
		sys.Stop()
		return nil, err
	}
	go func() { _ = sys.BrokerServer.Serve(lis) }()
	return sys, nil
}

// buildBroker opens the store and builds the broker and its gRPC server
// into s. On error s holds what was built so far, for Stop.
func (s *System) buildBroker(cfg SystemConfig) (err error) {
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

	if cfg.DataDir == "" {
		s.Store = store.NewMemory()
	} else if s.Store, err = store.Open(cfg.DataDir, store.Options{}); err != nil {
		return err
	}
	s.brokerCfg = broker.Config{
		Store: s.Store, Policy: pol, Clock: cfg.Clock, HeartbeatInterval: cfg.HeartbeatInterval,
		Issuer: token.NewIssuer(svcCfg.GrantIssuer, cfg.GrantKeys, cfg.Clock),
	}
	if s.Broker, err = broker.New(s.brokerCfg); err != nil {
		return err
	}
	s.brokerIdentity, err = token.NewIdentityVerifier(svcCfg.IdentityKeys, token.Config{
		Issuer: svcCfg.IdentityIssuer, Audience: BrokerAudience, Algorithms: svcCfg.Algorithms,
		Leeway: svcCfg.Leeway, Clock: cfg.Clock,
	})
	if err != nil {
		return err
	}
	s.BrokerServer = s.newBrokerServer()
	return nil
}
