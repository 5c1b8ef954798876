package buggy

import (
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// Config mirrors the reference service's settings; zero fields take the
// reference defaults (development identity provider and broker, audience
// demo.v1.Vault), so a conformance run can target a buggy service exactly as
// it targets the reference.
type Config struct {
	// IdentityIssuer and IdentityKeys are the identity provider the service trusts.
	IdentityIssuer string
	IdentityKeys   *token.KeySet
	// GrantIssuer and GrantKeys are the broker the service trusts.
	GrantIssuer string
	GrantKeys   *token.KeySet
	// Audience is the service's name, the aud both credentials must carry.
	Audience string
	// Algorithms is the pinned algorithm list of both verifiers.
	Algorithms []string
	// Leeway tolerates clock skew; MaxGrantLifetime caps a grant's exp−iat.
	Leeway, MaxGrantLifetime time.Duration
	// Clock is the service's clock.
	Clock clockwork.Clock
	// Revocations, when set, is consulted on every call.
	Revocations token.Revocations
	// KeyDir is where the kid-file-path service keeps its grant key files,
	// written by New; empty means a temporary directory that Stop removes.
	// The forger's /dev/null kid climbs six levels, so keep it no deeper.
	KeyDir string
	// ServerOptions are appended to the server's options (TLS, for instance).
	ServerOptions []grpc.ServerOption
}

// withDefaults fills zero fields. The reference's own defaults are applied
// through stack.Config, so the two cannot drift apart.
func (c Config) withDefaults() Config {
	ref := stack.Config{IdentityIssuer: c.IdentityIssuer, IdentityKeys: c.IdentityKeys, GrantIssuer: c.GrantIssuer,
		Audience: c.Audience, MaxGrantLifetime: c.MaxGrantLifetime, Clock: c.Clock}
	if c.GrantKeys != nil { // a nil *KeySet in the interface field would count as set
		ref.GrantKeys = c.GrantKeys
	}
	ref = ref.WithDefaults()
	c.IdentityIssuer, c.IdentityKeys, c.GrantIssuer = ref.IdentityIssuer, ref.IdentityKeys, ref.GrantIssuer
	c.GrantKeys, _ = ref.GrantKeys.(*token.KeySet) // New refuses a nil result
	c.Audience, c.MaxGrantLifetime, c.Clock = ref.Audience, ref.MaxGrantLifetime, ref.Clock
	if len(c.Algorithms) == 0 {
		c.Algorithms = token.DefaultAlgorithms()
	}
	if c.Leeway == 0 {
		c.Leeway = token.DefaultLeeway
	}
	return c
}
