package buggy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/reference/demo"
	"github.com/jitbench/jitbench/reference/token"
)

// Service is a buggy JIT-protected demo Vault, ready to serve.
type Service struct {
	// Server serves demo.v1.Vault (Read, Write, List), gRPC health and reflection.
	Server *grpc.Server
	// Vault is the handler behind the interceptors; it counts every call it receives.
	Vault *demo.Vault
	// Bug names the service's one bug.
	Bug string
	// Config is the configuration in force, defaults applied.
	Config Config

	tempDir string // the key directory New made, removed by Stop
}

// New returns a service with the one bug named, serving demo.v1.Vault (Read,
// Write, List) plus gRPC health and reflection; an unknown bug is an error
// wrapping ErrUnknownBug.
func New(bug string, cfg Config) (*Service, error) {
	if !slices.Contains(Bugs(), bug) {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownBug, bug, strings.Join(Bugs(), ", "))
	}
	return newService(bug, cfg)
}

// newService builds the service with bug, where "" means none: the correct
// service exists only for this package's tests, which compare each bug with it.
func newService(bug string, cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	if cfg.IdentityKeys == nil || cfg.GrantKeys == nil {
		return nil, errors.New("buggy service: no identity or grant keys")
	}
	for _, alg := range cfg.Algorithms {
		if err := token.CheckAlgorithm(alg); err != nil {
			return nil, err
		}
	}
	if cfg.Leeway < 0 || cfg.MaxGrantLifetime < 0 {
		return nil, errors.New("buggy service: leeway and maximum grant lifetime must not be negative")
	}
	s := &Service{Bug: bug}
	if bug == KidFilePath {
		if err := s.prepareKeyDir(&cfg); err != nil {
			return nil, err
		}
	}
	s.Config = cfg

	leeway := cfg.Leeway
	if bug == HourLeeway {
		// BUG hour-leeway: an hour made the clock-skew alerts stop for good.
		leeway = time.Hour
	}
	verifierFor := func(identity bool, issuer, typ string, keys *token.KeySet, maxLife time.Duration) *verifier {
		return &verifier{bug: bug, identity: identity, issuer: issuer, audience: cfg.Audience, typ: typ,
			keys: keys, keyDir: cfg.KeyDir, pinned: slices.Clone(cfg.Algorithms), leeway: leeway,
			maxLife: maxLife, clock: cfg.Clock, parser: newParser()}
	}
	g := &guard{
		bug:         bug,
		identities:  verifierFor(true, cfg.IdentityIssuer, token.TypeIdentity, cfg.IdentityKeys, 0),
		grants:      verifierFor(false, cfg.GrantIssuer, token.TypeGrant, cfg.GrantKeys, cfg.MaxGrantLifetime),
		revocations: cfg.Revocations,
		replay:      token.NewReplayGuard(0),
		leeway:      leeway,
		clock:       cfg.Clock,
	}
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(g.unary)}
	// BUG no-stream-interceptor: the setup was copied from a unary-only
	// example, so streams are served unguarded.
	if bug != NoStreamInterceptor {
		opts = append(opts, grpc.ChainStreamInterceptor(g.stream))
	}
	s.Server = grpc.NewServer(append(opts, cfg.ServerOptions...)...)
	s.Vault = demo.NewVault(nil)
	demo.Register(s.Server, s.Vault)
	return s, nil
}

// prepareKeyDir writes the grant keys into cfg.KeyDir, making a temporary
// directory when it is empty. The /dev/null attack needs the directory at
// most six levels deep, as a temporary directory usually is.
func (s *Service) prepareKeyDir(cfg *Config) error {
	if cfg.KeyDir == "" {
		dir, err := os.MkdirTemp("", "jitbench-buggy-keys-")
		if err != nil {
			return fmt.Errorf("buggy service: key directory: %w", err)
		}
		cfg.KeyDir, s.tempDir = dir, dir
	}
	if err := writeKeyFiles(cfg.KeyDir, cfg.GrantKeys, cfg.Algorithms); err != nil {
		s.removeTempDir()
		return fmt.Errorf("buggy service: %w", err)
	}
	return nil
}

// HandlerCalls reports how often a Vault handler ran.
func (s *Service) HandlerCalls() int64 { return s.Vault.TotalHandlerCalls() }

// Serve serves on lis until Stop.
func (s *Service) Serve(lis net.Listener) error { return s.Server.Serve(lis) }

// Stop stops the server gracefully and removes the key directory New made.
func (s *Service) Stop() {
	s.Server.GracefulStop()
	s.removeTempDir()
}

func (s *Service) removeTempDir() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir) // best effort: a leftover temporary directory holds only verification keys
	}
}
