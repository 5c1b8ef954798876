package interceptor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Credential is a token and the instant it stops being usable.
type Credential struct {
	Token   string
	Expires time.Time
	// Once marks a one-shot grant: it is used for one call and never cached.
	Once bool
}

// IdentitySource supplies the caller's identity token.
type IdentitySource interface {
	Identity(ctx context.Context) (Credential, error)
}

// GrantSource supplies a JIT grant for a full method name. It may block while
// an approval is pending; it must honour ctx's deadline, and it should return
// a *reason.Error or a status (APPROVAL_PENDING, APPROVAL_DENIED,
// BROKER_UNAVAILABLE) so the caller learns why.
type GrantSource interface {
	Grant(ctx context.Context, method string) (Credential, error)
}

// IdentitySourceFunc adapts a function to IdentitySource.
type IdentitySourceFunc func(ctx context.Context) (Credential, error)

// Identity calls f.
func (f IdentitySourceFunc) Identity(ctx context.Context) (Credential, error) { return f(ctx) }

// GrantSourceFunc adapts a function to GrantSource.
type GrantSourceFunc func(ctx context.Context, method string) (Credential, error)

// Grant calls f.
func (f GrantSourceFunc) Grant(ctx context.Context, method string) (Credential, error) {
	return f(ctx, method)
}

var (
	_ IdentitySource                = IdentitySourceFunc(nil)
	_ GrantSource                   = GrantSourceFunc(nil)
	_ credentials.PerRPCCredentials = (*Credentials)(nil)
)

// Static returns a source that always hands out tok; its expiry is read
// (unverified) from the token's exp claim so callers can see it coming.
func Static(tok string) Credential {
	return Credential{Token: tok, Expires: token.UnverifiedExpiry(tok)}
}

// StaticIdentity returns an IdentitySource for a fixed token.
func StaticIdentity(tok string) IdentitySource {
	c := Static(tok)
	return IdentitySourceFunc(func(context.Context) (Credential, error) { return c, nil })
}

// StaticGrant returns a GrantSource handing out one fixed grant for every method.
func StaticGrant(tok string) GrantSource {
	c := Static(tok)
	return GrantSourceFunc(func(context.Context, string) (Credential, error) { return c, nil })
}

// ClientConfig configures the client credentials.
type ClientConfig struct {
	// Identity supplies the identity token; nil sends none (mTLS identity).
	Identity IdentitySource
	// Grants supplies grants; nil sends none.
	Grants GrantSource
	// Policy says which methods need a grant; nil means DefaultPolicy.
	Policy Policy
	// RefreshBefore asks for a new credential this long before the cached one expires; zero means 30 s,
	// the broker client's renewal margin, so a grant source that renews earlier is asked in time.
	RefreshBefore time.Duration
	// Insecure allows sending credentials over plaintext connections (loopback demos, tests).
	Insecure bool
	// Clock decides when cached credentials are due for refresh; nil means the real clock.
	Clock clockwork.Clock
	// IdentityHeader and GrantHeader override the default header names.
	IdentityHeader, GrantHeader string
}

// Credentials attaches an identity and a JIT grant to every call, caching
// each until shortly before it expires. Pass it with grpc.WithPerRPCCredentials.
type Credentials struct {
	cfg ClientConfig

	mu       sync.Mutex
	identity Credential
	grants   map[string]Credential // by method
}

// NewCredentials returns per-RPC credentials for cfg.
func NewCredentials(cfg ClientConfig) *Credentials {
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy
	}
	if cfg.RefreshBefore == 0 {
		cfg.RefreshBefore = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.IdentityHeader == "" {
		cfg.IdentityHeader = IdentityHeader
	}
	if cfg.GrantHeader == "" {
		cfg.GrantHeader = GrantHeader
	}
	return &Credentials{cfg: cfg, grants: make(map[string]Credential)}
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (c *Credentials) RequireTransportSecurity() bool { return !c.cfg.Insecure }

// GetRequestMetadata implements credentials.PerRPCCredentials. Its errors
// are statuses: grpc-go would turn a plain error into UNAUTHENTICATED, which
// would blame the caller's identity for a broker outage.
func (c *Credentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	ri, _ := credentials.RequestInfoFromContext(ctx)
	method := ri.Method
	need := c.cfg.Policy(method)
	md := make(map[string]string, 2)
	if need == Open {
		return md, nil
	}
	if c.cfg.Identity != nil {
		id, err := c.cached(ctx, "", func(ctx context.Context) (Credential, error) { return c.cfg.Identity.Identity(ctx) })
		if err != nil {
			return nil, asStatus(ctx, err)
		}
		md[c.cfg.IdentityHeader] = "Bearer " + id.Token
	}
	if need == Protected && c.cfg.Grants != nil {
		g, err := c.cached(ctx, method, func(ctx context.Context) (Credential, error) { return c.cfg.Grants.Grant(ctx, method) })
		if err != nil {
			return nil, asStatus(ctx, err)
		}
		md[c.cfg.GrantHeader] = g.Token
	}
	return md, nil
}

// cached returns the credential under key ("" is the identity), fetching a
// new one when none is cached or the cached one is due for refresh.
func (c *Credentials) cached(ctx context.Context, key string, fetch func(context.Context) (Credential, error)) (Credential, error) {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	cur, ok := c.get(key)
	c.mu.Unlock()
	if ok && (cur.Expires.IsZero() || now.Before(cur.Expires.Add(-c.cfg.RefreshBefore))) {
		return cur, nil
	}
	fresh, err := fetch(ctx)
	if err != nil {
		return Credential{}, err
	}
	if !fresh.Once {
		c.mu.Lock()
		c.set(key, fresh)
		c.mu.Unlock()
	}
	return fresh, nil
}

func (c *Credentials) get(key string) (Credential, bool) {
	if key == "" {
		return c.identity, c.identity.Token != ""
	}
	g, ok := c.grants[key]
	return g, ok
}

func (c *Credentials) set(key string, v Credential) {
	if key == "" {
		c.identity = v
		return
	}
	c.grants[key] = v
}

// Forget drops every cached credential, so the next call fetches fresh ones.
func (c *Credentials) Forget() {
	c.mu.Lock()
	c.identity = Credential{}
	clear(c.grants)
	c.mu.Unlock()
}

// asStatus turns a source's error into a status error with a reason.
func asStatus(ctx context.Context, err error) error {
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	var re *reason.Error
	if errors.As(err, &re) {
		return re
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return reason.New(reason.ApprovalPending, "the grant did not arrive before the call's deadline")
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "the call was cancelled while its grant was obtained")
	}
	return reason.New(reason.BrokerUnavailable, "the grant source could not be reached: "+err.Error())
}
