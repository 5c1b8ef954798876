package harness

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/fakes"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// identityTTL is the lifetime of the caller's identity tokens: far longer
// than any scenario, so identity expiry only happens when a fault asks.
const identityTTL = time.Hour

// reconnect makes the caller's connections come back within milliseconds of
// a lifted outage instead of after grpc's default backoff (1 s, growing to
// 2 min), which would blur a scenario's short timeline. No jitter: the run's
// only randomness is its seed. The connect timeout stays grpc's default, so
// a blackholed link looks to the caller as it would to any grpc-go client.
var reconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, MaxDelay: 200 * time.Millisecond},
	MinConnectTimeout: 20 * time.Second,
})

// caller is the scenario's client: its identity from the development
// identity provider, its grants from the broker (or minted, or none), both
// attached by the reference's per-RPC credentials and then bent by the
// client knobs of each call.
type caller struct {
	env        *Env
	vaultConn  *grpc.ClientConn
	brokerConn *grpc.ClientConn
	creds      *interceptor.Credentials
	// external is the user's service on topology external; nil for the
	// reference's Vault. There creds supplies the identity, grantCreds the grant.
	external   *externalSystem
	grantCreds *interceptor.Credentials
}

func newCaller(e *Env) (*caller, error) {
	c := &caller{env: e}
	clock := e.clocks[fakes.TargetClient]
	cl := e.sc.Client
	// The identity provider is a server of its own: it keeps real time.
	idp := fakes.DevIdentityProvider(nil)
	// The knobs bend what the caller sends the service; the broker calls
	// the grant source makes inside a service call carry the same context,
	// so only the service's identity source reads them.
	identityFor := func(aud string, knobs bool) interceptor.IdentitySourceFunc {
		return func(ctx context.Context) (interceptor.Credential, error) {
			if tr := traceOf(ctx); knobs && tr != nil && tr.omitIdentity() {
				return interceptor.Credential{Once: true}, nil
			}
			raw, err := idp.Token(cl.Subject, nil, aud, identityTTL)
			if err != nil {
				return interceptor.Credential{}, err
			}
			return interceptor.Static(raw), nil
		}
	}

	var grants interceptor.GrantSource
	switch cl.Grants {
	case GrantsBroker:
		conn, err := grpc.NewClient("passthrough:///broker",
			grpc.WithContextDialer(e.links[fakes.LinkClientBroker].Dialer(e.sys.dialBroker)),
			grpc.WithTransportCredentials(insecure.NewCredentials()), reconnect,
			grpc.WithPerRPCCredentials(interceptor.NewCredentials(interceptor.ClientConfig{
				Identity: identityFor(stack.BrokerAudience, false), Policy: broker.ServerPolicy, Insecure: true, Clock: clock})))
		if err != nil {
			return nil, err
		}
		c.brokerConn = conn
		scope := &jitv1.Scope{Service: token.DevAudience, Methods: cl.GrantScope, Resource: cl.GrantResource}
		grants = brokerclient.New(jitv1.NewBrokerClient(conn), brokerclient.Options{
			Service:       token.DevAudience,
			ScopeFor:      func(string) *jitv1.Scope { return scope },
			Justification: "jitbench scenario " + e.sc.Name,
			Duration:      e.sc.Broker.GrantTTL,
			Clock:         clock,
			// Seeded jitter, so backoff against a failing broker is the same every run.
			Retry: brokerclient.Retry{Source: rand.NewPCG(uint64(e.sc.Seed), 0x6772616e74)},
		})
	case GrantsMinted:
		keys, err := brokerKeys(e.sc.Broker.Algorithm)
		if err != nil {
			return nil, err
		}
		iss := token.NewIssuer(token.DevGrantIssuer, keys, clock)
		grants = interceptor.GrantSourceFunc(func(context.Context, string) (interceptor.Credential, error) {
			raw, _, err := iss.Grant(token.GrantSpec{Subject: cl.Subject, Audience: token.DevAudience, TTL: e.sc.Broker.GrantTTL,
				Scope: token.Scope{Methods: cl.GrantScope, Resource: cl.GrantResource}})
			if err != nil {
				return interceptor.Credential{}, err
			}
			return interceptor.Static(raw), nil
		})
	}
	cfg := interceptor.ClientConfig{Identity: identityFor(token.DevAudience, true), Insecure: true, Clock: clock}
	dialService := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	serviceName := "passthrough:///service" // the dialer ignores it
	if x, ok := e.sys.(*externalSystem); ok {
		// The user's service: its own identity and grant layouts, every
		// method protected, the credentials attached by the call (do).
		c.external = x
		cfg.Identity = x.identitySource(clock)
		cfg.Policy = func(string) interceptor.Requirement { return interceptor.Protected }
		if grants != nil {
			grants = x.translated(grants)
		}
		dialService = []grpc.DialOption{x.transport()}
		// The authority TLS checks the service's certificate against, unless the config names another.
		serviceName = "passthrough:///" + x.session.Address()
	}
	if grants != nil {
		cfg.Grants = tracedGrants{grants}
	}
	if c.external != nil {
		// Asked directly, not by grpc, the credentials see no method name,
		// and would cache the grant under the identity's key: one each.
		c.grantCreds = interceptor.NewCredentials(interceptor.ClientConfig{Grants: cfg.Grants, Policy: cfg.Policy, Insecure: true, Clock: clock})
		cfg.Grants = nil
	}
	c.creds = interceptor.NewCredentials(cfg)
	if c.external == nil {
		dialService = append(dialService, grpc.WithPerRPCCredentials(&callCredentials{inner: c.creds}))
	}
	conn, err := grpc.NewClient(serviceName, append(dialService,
		grpc.WithContextDialer(e.links[fakes.LinkClientService].Dialer(e.sys.dialService)), reconnect)...)
	if err != nil {
		c.close()
		return nil, err
	}
	c.vaultConn = conn
	return c, nil
}

func (c *caller) close() {
	for _, conn := range []*grpc.ClientConn{c.vaultConn, c.brokerConn} {
		if conn != nil {
			_ = conn.Close()
		}
	}
}

// tracedGrants times each grant the source is asked for and remembers its
// error in the call's trace, so an outcome can say it failed obtaining its
// grant (phase "grant") and how long it waited.
type tracedGrants struct{ next interceptor.GrantSource }

// Grant implements interceptor.GrantSource.
func (g tracedGrants) Grant(ctx context.Context, method string) (interceptor.Credential, error) {
	tr := traceOf(ctx)
	if tr != nil && tr.omitGrant() {
		// Not attached: nothing is requested, so no approval is awaited either.
		return interceptor.Credential{Once: true}, nil
	}
	start := time.Now()
	cred, err := g.next.Grant(ctx, method)
	if tr != nil {
		tr.grant(time.Since(start), err)
	}
	return cred, err
}
