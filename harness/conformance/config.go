package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/token"
)

// Config describes a target: what the YAML file holds (LoadConfig), plus
// the hooks only the Go API can supply (HandlerCalls, a KeySource of your own).
type Config struct {
	// Address is the target's host:port.
	Address string
	// TLS secures the connection; nil means plaintext.
	TLS *load.TLSFiles
	// Profile is the credential model the target follows; empty means TwoToken.
	Profile Profile

	// Method is the protected unary method every case calls, with its request.
	Method Call
	// Stream is a protected server-streaming method, for SCP-004; nil skips it.
	Stream *Call
	// Control is an unprotected method that must answer OK without credentials;
	// it is called before the suite to check the target is up. Nil skips the check.
	Control *Call
	// DescriptorSet is a FileDescriptorSet file to read JSON payloads with,
	// for a target without server reflection; empty asks the target.
	DescriptorSet string

	// IdentityHeader and GrantHeader name the credential headers; empty means
	// "authorization" and "x-jit-grant". The single-token profile uses IdentityHeader only.
	IdentityHeader, GrantHeader string
	// IdentityScheme and GrantScheme come before the token in each header;
	// empty means "Bearer" for the identity and none for the grant, NoScheme means none.
	IdentityScheme, GrantScheme string

	// IdentityToken and GrantToken lay out the credentials; zero values are the reference's layouts.
	IdentityToken, GrantToken TokenLayout

	// Identity and Grant are the issuers the target trusts, with their
	// private keys: the suite signs valid credentials and forges invalid ones
	// with them. Identity is unused in the single-token profile unless a broker needs it.
	Identity, Grant Issuer
	// Audience is the target's name, the aud every credential carries.
	Audience string
	// Subject is the caller the credentials name.
	Subject string
	// Leeway is the target's clock-skew tolerance; zero means token.DefaultLeeway.
	Leeway time.Duration
	// Algorithms is the target's pinned list, for ALG-003; nil means token.DefaultAlgorithms().
	Algorithms []string

	// The capabilities: a case that needs one the config does not give is skipped.

	// MaxGrantLifetime is the longest grant the target accepts, for CLM-004; zero skips it.
	MaxGrantLifetime time.Duration
	// MaxTokenBytes is the largest token the target reads, for FMT-005; zero skips it.
	MaxTokenBytes int
	// KidRequired says the target refuses a kid it has no key for, even when its key signed the token: KEY-003.
	KidRequired bool
	// TypChecked says the target checks the typ header: CLM-010.
	TypChecked bool
	// StrictSignatures says the target refuses high-s ECDSA signatures: SIG-005 fails instead of advising.
	StrictSignatures bool

	// Resource is the pattern every valid grant's scope names (e.g. "secrets/*");
	// the method's payload must address a resource inside it. Empty skips SCP-002.
	Resource string
	// OutOfScope, when set, is a second request for Method addressing a
	// resource outside Resource: SCP-002's second variant.
	OutOfScope *Call

	// OneShot says the target honours one-shot grants: CLM-008 runs.
	OneShot bool
	// OneShotClaims are the claims that make a grant one-shot; nil means the reference's {"one_shot": true}.
	OneShotClaims fakes.Object
	// Broker is a broker the target trusts, for SCP-003; nil skips it unless Revoker is set.
	Broker *Broker
	// Revoker revokes a grant the suite signed, by its jti, for SCP-003 without a broker.
	Revoker Revoker

	// HandlerCalls, when set, reports how often the protected handler has
	// run; the suite then proves no negative case reached it.
	HandlerCalls func() int64
	// KeySource, when set, controls the target's key source for DL-003,
	// KEY-004, OUT-002 and OUT-003: a ServedKeys the file's key_source
	// makes, or your own.
	KeySource KeySource

	// File is where the config was read from, for messages; empty for a config built in Go.
	File string
}

// NoScheme is the scheme of a header that carries the bare token.
const NoScheme = "-"

// TokenLayout is how one credential is written: its claims and JOSE header.
type TokenLayout struct {
	// Claims is the template of a valid token's claims; nil means the reference's layout.
	Claims *fakes.ClaimTemplate
	// Typ is the typ header; empty means the reference's. NoTyp leaves typ out.
	Typ   string
	NoTyp bool
	// NoKid leaves the kid header out: the target has one key and does not look.
	NoKid bool
	// MethodForm is how grants spell methods; empty means /pkg.Service/Method.
	MethodForm fakes.MethodForm
	// Permissions maps full method names to the permissions that grant them.
	Permissions map[string]string
}

// Call is a method and its request.
type Call struct {
	// Method is the full method name, "/pkg.Service/Method".
	Method string
	// JSON is the request in protobuf JSON, converted through the target's
	// reflection or DescriptorSet; Binary is the request as protobuf bytes. One of the two.
	JSON   string
	Binary []byte
}

// Issuer is a token issuer the target trusts, with its signing keys.
type Issuer struct {
	// Name is the iss claim.
	Name string
	// Keys holds the issuer's keys, private halves included; its signing key signs valid tokens.
	Keys *token.KeySet
	// PublicKeyFile, when set, is the issuer's public key exactly as the
	// target holds it: ALG-002 also MACs with these bytes.
	PublicKeyFile []byte
}

// Broker is a jit.v1.Broker the target trusts.
type Broker struct {
	// Address is the broker's host:port (plaintext).
	Address string
	// Audience is the aud of identities sent to the broker; empty means "jit.v1.Broker".
	Audience string
	// Approver and ApproverGroups approve the suite's own access request
	// when the broker's policy does not approve it by itself; empty waits for
	// an automatic approval.
	Approver       string
	ApproverGroups []string
}

// KeySource controls where the target gets the keys that verify grants.
// Implement it to run DL-003, OUT-002 and OUT-003 against your target
// (and KEY-004 with KeyRetirer).
type KeySource interface {
	// Fresh returns a new signing key, private half included, that the key
	// source serves from now on but the target has not fetched yet.
	Fresh(ctx context.Context) (*token.Key, error)
	// Outage takes the key source away until restore is called: unreachable
	// when delay is zero, else answering only after delay.
	Outage(delay time.Duration) (restore func())
}

// KeyRetirer is a KeySource that can also stop serving a key: KEY-004.
type KeyRetirer interface {
	KeySource
	// Retire removes the key kid from what the key source serves.
	Retire(ctx context.Context, kid string) error
}

// Revoker revokes a grant by its jti: SCP-003 without a broker.
type Revoker interface {
	// Revoke revokes the grant id; nil means the target has been told.
	Revoke(ctx context.Context, id string) error
}

// Defaults applied to a Config's zero fields.
const (
	// DefaultSubject is the caller the suite's credentials name.
	DefaultSubject = "jitbench-conformance"
	// DefaultBrokerAudience is the aud of identities for the broker.
	DefaultBrokerAudience = "jit.v1.Broker"
)

// withDefaults fills c's zero fields.
func (c Config) withDefaults() Config {
	if c.Profile == "" {
		c.Profile = TwoToken
	}
	if c.IdentityHeader == "" {
		c.IdentityHeader = interceptor.IdentityHeader
	}
	if c.GrantHeader == "" {
		c.GrantHeader = interceptor.GrantHeader
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Leeway == 0 {
		c.Leeway = token.DefaultLeeway
	}
	if c.IdentityScheme == "" {
		c.IdentityScheme = "Bearer"
	}
	if c.GrantScheme == "" {
		c.GrantScheme = NoScheme
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = token.DefaultAlgorithms()
	}
	if c.Broker != nil && c.Broker.Audience == "" {
		b := *c.Broker
		b.Audience = DefaultBrokerAudience
		c.Broker = &b
	}
	return c
}

// DevIssuers returns the development identity provider and broker of the
// reference (`jitbench serve` without key flags): public keys for local use only.
func DevIssuers() (identity, grant Issuer) {
	return Issuer{Name: token.DevIdentityIssuer, Keys: token.DevKeySet(token.DevIdentityIssuer)},
		Issuer{Name: token.DevGrantIssuer, Keys: token.DevKeySet(token.DevGrantIssuer)}
}

// check refuses a config the suite cannot run with, naming the field.
func (c *Config) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Address == "":
		return bad("the target's address is required")
	case c.Profile != TwoToken && c.Profile != SingleToken:
		return bad("unknown profile %q: want %s or %s", c.Profile, TwoToken, SingleToken)
	case c.Method.Method == "":
		return bad("the protected method is required")
	case c.Audience == "":
		return bad("the audience is required")
	case c.Leeway < 0 || c.MaxGrantLifetime < 0 || c.MaxTokenBytes < 0:
		return bad("leeway, max grant lifetime and max token bytes must not be negative")
	case c.Broker != nil && c.Revoker != nil:
		return bad("a broker and a revoker are two ways to revoke a grant: keep one")
	case c.KidRequired && c.GrantToken.NoKid:
		return bad("kid required, and the grant layout carries no kid")
	case c.TypChecked && c.GrantToken.NoTyp:
		return bad("typ checked, and the grant layout carries no typ")
	}
	for _, call := range []*Call{&c.Method, c.Stream, c.Control, c.OutOfScope} {
		if call != nil && (call.JSON == "") == (call.Binary == nil) {
			return bad("%s needs a request: JSON or binary, one of the two", call.Method)
		}
	}
	if err := c.Grant.check("grant"); err != nil {
		return err
	}
	if c.Profile == TwoToken || c.Broker != nil {
		if err := c.Identity.check("identity"); err != nil {
			return err
		}
	}
	for _, a := range c.Algorithms {
		if err := token.CheckAlgorithm(a); err != nil {
			return bad("algorithms: %v", err)
		}
	}
	if c.Broker != nil && c.Broker.Address == "" {
		return bad("the broker's address is required")
	}
	return nil
}

// grantTemplate is the grant's claim template, the reference's when the layout names none.
func (c *Config) grantTemplate() *fakes.ClaimTemplate {
	if c.GrantToken.Claims != nil {
		return c.GrantToken.Claims
	}
	p, _ := fakes.LookupPreset(fakes.PresetScopeMethods)
	return p.Template(c.Resource != "")
}

// check refuses an issuer without a name or a private signing key.
func (i Issuer) check(which string) error {
	if i.Name == "" || i.Keys == nil {
		return fmt.Errorf("%w: the %s issuer and its keys are required", ErrInvalidConfig, which)
	}
	if k, err := i.Keys.Signing(); err != nil || k.Private == nil {
		return fmt.Errorf("%w: the %s issuer's signing key has no private half: the suite signs tokens with it", ErrInvalidConfig, which)
	}
	return nil
}
