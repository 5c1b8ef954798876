package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/token"
)

// ErrNoStream is returned by a Session's stream call when the config names no stream method.
var ErrNoStream = errors.New("the target config names no stream method")

// ErrCannotRevoke is returned by Session.Revoke when the config has no revoke hook.
var ErrCannotRevoke = errors.New("the target config has no revoke hook (revoke: command or url)")

// Session is the target a config describes, connected and ready: it signs
// credentials in the target's own layout and calls its methods. Scenarios
// and measurements against a user's service use it; the suite's runner
// keeps its own.
type Session struct {
	cfg     Config
	t       *target
	stop    func()
	grant   *fakes.Forger
	idForge *fakes.Forger
}

// Open checks cfg, starts what it serves (a key source), connects to the
// target and checks its control method. Close the Session when done. The
// error wraps ErrInvalidConfig or ErrUnreachable.
func Open(ctx context.Context, cfg *Config) (*Session, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no config", ErrInvalidConfig)
	}
	s := &Session{cfg: cfg.withDefaults()}
	if err := s.cfg.check(); err != nil {
		return nil, err
	}
	var err error
	if s.stop, err = cfg.serve(); err != nil {
		return nil, err
	}
	if s.t, err = connect(ctx, &s.cfg); err != nil {
		s.stop()
		return nil, err
	}
	// No trap: a session never forges jku or x5u, so nothing may be fetched.
	s.grant, s.idForge = s.cfg.forgers("")
	return s, nil
}

// Close closes the connection and stops what the config serves.
func (s *Session) Close() {
	s.t.close()
	s.stop()
}

// Config returns the target's config with its defaults filled in.
func (s *Session) Config() Config { return s.cfg }

// Forger returns a new forger of credential (fakes.CredentialGrant or
// fakes.CredentialIdentity) in the target's layout, placing times against
// clock (nil: the real clock); nil for an identity in the single-token
// profile, or without an identity issuer.
func (s *Session) Forger(credential string, clock clockwork.Clock) *fakes.Forger {
	grant, identity := s.cfg.forgersAt("", clock)
	if credential != fakes.CredentialIdentity {
		return grant
	}
	if s.cfg.Profile == SingleToken {
		return nil
	}
	return identity
}

// ScopedForger is Forger for a grant naming methods (full names, the
// config's method first) instead of the config's method alone: a caller's
// grant that covers each method it calls, the stream method included.
func (s *Session) ScopedForger(clock clockwork.Clock, methods ...string) *fakes.Forger {
	f := s.Forger(fakes.CredentialGrant, clock)
	if len(methods) > 0 {
		f.Scope.Methods = methods
	}
	return f
}

// Window is the validity window of a grant Session.Mint signs; zero fields keep the forger's.
type Window struct {
	IssuedAt, NotBefore, Expires time.Time
}

// MintOptions change the credentials Session.Mint signs.
type MintOptions struct {
	// Window places the grant's iat, nbf and exp; zero means issued now for the forger's default lifetime.
	Window Window
	// Key signs the grant instead of the issuer's signing key (a key source's fresh key).
	Key *token.Key
	// ID is the grant's jti; empty means a random one.
	ID string
}

// Mint signs a valid identity (empty in the single-token profile) and a
// valid grant in the target's layouts, the grant changed as o says.
func (s *Session) Mint(o MintOptions) (identity, grant string, err error) {
	if s.cfg.Profile == TwoToken && s.idForge != nil {
		if identity, err = s.idForge.Valid(); err != nil {
			return "", "", fmt.Errorf("sign a valid identity: %w", err)
		}
	}
	grant, err = s.grant.ValidWith(fakes.ValidOptions{Key: o.Key, ID: o.ID, Expires: o.Window.Expires,
		IssuedAt: o.Window.IssuedAt, NotBefore: o.Window.NotBefore})
	if err != nil {
		return "", "", fmt.Errorf("sign a valid grant: %w", err)
	}
	return identity, grant, nil
}

// Metadata is a call's headers carrying identity and grant as the target
// reads them (either left out when empty; in the single-token profile the
// grant alone, in the identity header).
func (s *Session) Metadata(identity, grant string) metadata.MD {
	return credentialMD(&s.cfg, identity, grant)
}

// Answer is what one call to the target came back with.
type Answer struct {
	// Code and Message are the status; Reason is its ErrorInfo reason, when the target sent one.
	Code    codes.Code
	Message string
	Reason  string
	// Latency is the call's wall time.
	Latency time.Duration
}

// Call makes one call of the protected method (or the stream method when
// stream is set) on conn (nil: the session's own connection) with md,
// within timeout.
func (s *Session) Call(ctx context.Context, conn *grpc.ClientConn, stream bool, md metadata.MD, timeout time.Duration, opts ...grpc.CallOption) (Answer, error) {
	p := s.t.method
	if stream {
		if s.t.stream == nil {
			return Answer{}, ErrNoStream
		}
		p = s.t.stream
	}
	if conn == nil {
		conn = s.t.conn
	}
	a := s.t.do(ctx, conn, p, md, timeout, opts...)
	return Answer{Code: a.code, Message: a.message, Reason: a.reason, Latency: a.latency}, nil
}

// HasStream reports whether the config names a stream method.
func (s *Session) HasStream() bool { return s.t.stream != nil }

// Address returns the target's host:port.
func (s *Session) Address() string { return s.t.addr }

// TLS returns the TLS config toward the target; nil for plaintext.
func (s *Session) TLS() *tls.Config { return s.t.tls }

// KeySource returns the key source the config controls; nil when it names none.
func (s *Session) KeySource() KeySource { return s.cfg.KeySource }

// Revoke tells the target, through the config's revoke hook, that the
// grant with jti id is revoked. It is ErrCannotRevoke without a hook.
func (s *Session) Revoke(ctx context.Context, id string) error {
	if s.cfg.Revoker == nil {
		return ErrCannotRevoke
	}
	return s.cfg.Revoker.Revoke(ctx, id)
}
