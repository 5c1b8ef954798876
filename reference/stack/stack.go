// Package stack assembles the reference JIT system: verifiers for the two
// credentials, the server interceptors and the demo Vault, on one gRPC
// server. `jitbench serve`, the harness's in-process topology and the
// benchmarks all start the reference through it, so they test the same thing.
package stack

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/jitbench/jitbench/reference/demo"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/token"
)

// Config describes a reference service. Zero fields take development defaults.
type Config struct {
	// IdentityIssuer and IdentityKeys are the identity provider the service trusts.
	IdentityIssuer string
	IdentityKeys   *token.KeySet
	// GrantIssuer and GrantKeys are the broker the service trusts; GrantKeys
	// may be a fixed key set or keys fetched from the broker.
	GrantIssuer string
	GrantKeys   token.KeyResolver
	// Audience is the service's name, the aud both credentials must carry.
	Audience string
	// Algorithms is the pinned algorithm list of both verifiers.
	Algorithms []string
	// GrantAlgorithms, when set, pins the grant verifier's list instead of
	// Algorithms: a service whose grant verifier disagrees with the broker's
	// signing algorithm while identities still verify.
	GrantAlgorithms []string
	// Leeway tolerates clock skew; MaxGrantLifetime caps a grant's exp−iat.
	Leeway, MaxGrantLifetime time.Duration
	// Clock is the service's clock (a skewed one in fault scenarios).
	Clock clockwork.Clock
	// Revocations, when set, is consulted on every call.
	Revocations token.Revocations
	// OneShotCapacity bounds the one-shot register; zero means token.DefaultReplayCapacity.
	OneShotCapacity int
	// CacheBytes bounds each verified-token cache's estimated memory; zero means token.DefaultCacheBytes.
	CacheBytes int
	// TLS, when set, serves TLS; with PeerIdentity a verified client certificate is an identity.
	TLS          *tls.Config
	PeerIdentity bool
	// AccessHint tells denied callers where to request access.
	AccessHint string
	// Unprotected serves the Vault with no interceptors: the baseline of overhead benchmarks.
	Unprotected bool
	// NoStreamInterceptor installs the unary interceptor only, leaving streams
	// unchecked: the misconfiguration fault scenarios reproduce, never a default.
	NoStreamInterceptor bool
	// SingleToken serves the single-token profile: the grant alone, sent as
	// "authorization: Bearer <grant>", is both identity and permission.
	SingleToken bool
	// ServerOptions are appended to the server's options.
	ServerOptions []grpc.ServerOption
}

// Service is a running-ready reference service.
type Service struct {
	Server   *grpc.Server
	Vault    *demo.Vault
	Identity *token.IdentityVerifier
	Grants   *token.GrantVerifier
	Config   Config
}

// DefaultMaxGrantLifetime caps grants of the development broker.
const DefaultMaxGrantLifetime = time.Hour

// WithDefaults fills zero fields with the development identity provider,
// broker and audience.
func (c Config) WithDefaults() Config {
	if c.IdentityIssuer == "" {
		c.IdentityIssuer = token.DevIdentityIssuer
	}
	if c.IdentityKeys == nil {
		c.IdentityKeys = token.DevKeySet(c.IdentityIssuer).Public()
	}
	if c.GrantIssuer == "" {
		c.GrantIssuer = token.DevGrantIssuer
	}
	if c.GrantKeys == nil {
		c.GrantKeys = token.DevKeySet(c.GrantIssuer).Public()
	}
	if c.Audience == "" {
		c.Audience = token.DevAudience
	}
	if c.MaxGrantLifetime == 0 {
		c.MaxGrantLifetime = DefaultMaxGrantLifetime
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	return c
}

// New builds the service for cfg.
func New(cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	idv, err := token.NewIdentityVerifier(cfg.IdentityKeys, token.Config{
		Issuer: cfg.IdentityIssuer, Audience: cfg.Audience, Algorithms: cfg.Algorithms,
		Leeway: cfg.Leeway, CacheBytes: cfg.CacheBytes, Clock: cfg.Clock,
	})
	if err != nil {
		return nil, err
	}
	opts := []token.GrantOption{token.WithReplayGuard(token.NewReplayGuard(cfg.OneShotCapacity))}
	if cfg.Revocations != nil {
		opts = append(opts, token.WithRevocations(cfg.Revocations))
	}
	grantAlgs := cfg.Algorithms
	if len(cfg.GrantAlgorithms) > 0 {
		grantAlgs = cfg.GrantAlgorithms
	}
	gv, err := token.NewGrantVerifier(cfg.GrantKeys, token.Config{
		Issuer: cfg.GrantIssuer, Audience: cfg.Audience, Algorithms: grantAlgs,
		Leeway: cfg.Leeway, MaxLifetime: cfg.MaxGrantLifetime, CacheBytes: cfg.CacheBytes, Clock: cfg.Clock,
	}, opts...)
	if err != nil {
		return nil, err
	}
	if cfg.PeerIdentity && cfg.TLS == nil {
		return nil, errors.New("mTLS peer identity needs TLS")
	}
	var sopts []grpc.ServerOption
	if cfg.TLS != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	if !cfg.Unprotected {
		ic := interceptor.NewServer(interceptor.ServerConfig{
			Identity: idv, Grants: gv, Resource: demo.Resource,
			PeerIdentity: cfg.PeerIdentity, AccessHint: cfg.AccessHint, SingleToken: cfg.SingleToken,
		})
		if cfg.NoStreamInterceptor {
			sopts = append(sopts, grpc.ChainUnaryInterceptor(ic.Unary()))
		} else {
			sopts = append(sopts, ic.ServerOptions()...)
		}
	}
	sopts = append(sopts, cfg.ServerOptions...)
	srv := grpc.NewServer(sopts...)
	vault := demo.NewVault(nil)
	demo.Register(srv, vault)
	return &Service{Server: srv, Vault: vault, Identity: idv, Grants: gv, Config: cfg}, nil
}

// Serve serves on lis until Stop.
func (s *Service) Serve(lis net.Listener) error { return s.Server.Serve(lis) }

// Stop stops the server gracefully.
func (s *Service) Stop() { s.Server.GracefulStop() }

// DevMinting returns a credential source that signs both credentials with the
// development keys for subject: what a client of the development stack uses
// when approval is not under test.
func DevMinting(subject string, ttl time.Duration, clock clockwork.Clock) *interceptor.Minting {
	return &interceptor.Minting{
		Identities: token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), clock),
		Grants:     token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clock),
		Subject:    subject,
		Audience:   token.DevAudience,
		TTL:        ttl,
	}
}
