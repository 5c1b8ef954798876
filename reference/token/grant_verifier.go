package token

import (
	"strings"
	"time"
	"unsafe"

	"github.com/jitbench/jitbench/reference/reason"
)

// GrantVerifier checks JIT grants: signature and claims once (then cached),
// and on every call the subject binding, scope, revocation and one-shot use.
// A one-shot grant is used up only by a call that passed every check: Verify
// does both at once; Check and Use split them for a call (a stream) whose
// last check comes later.
type GrantVerifier struct {
	core
	cache       *cache[Grant]
	revocations Revocations
	replay      *ReplayGuard
}

// GrantOption configures a GrantVerifier.
type GrantOption func(*GrantVerifier)

// WithRevocations makes the verifier refuse grants that r reports revoked. A
// *RevocationSet is made to keep its entries for the verifier's leeway.
func WithRevocations(r Revocations) GrantOption {
	return func(v *GrantVerifier) { v.revocations = r }
}

// WithReplayGuard replaces the register of used one-shot grants, e.g. with
// one shared by replicas or of another size.
func WithReplayGuard(g *ReplayGuard) GrantOption {
	return func(v *GrantVerifier) { v.replay = g }
}

// NewGrantVerifier returns a verifier of grants signed by keys under cfg; Type defaults to TypeGrant.
func NewGrantVerifier(keys KeyResolver, cfg Config, opts ...GrantOption) (*GrantVerifier, error) {
	cfg, err := cfg.withDefaults(TypeGrant)
	if err != nil {
		return nil, err
	}
	v := &GrantVerifier{core: newCore(keys, cfg), cache: newCache(cfg.CacheSize, cfg.CacheBytes, grantBytes), replay: NewReplayGuard(0)}
	for _, o := range opts {
		o(v)
	}
	if set, ok := v.revocations.(*RevocationSet); ok {
		set.CoverLeeway(cfg.Leeway)
	}
	return v, nil
}

// Verify checks raw as a grant for req and returns it, or a *reason.Error.
// A one-shot grant is used up when, and only when, every check passed.
func (v *GrantVerifier) Verify(raw string, req Request) (*Grant, error) {
	g, err := v.Check(raw, req)
	if err != nil {
		return nil, err
	}
	if err := v.Use(g); err != nil {
		return nil, err
	}
	return g, nil
}

// Check is Verify without using up a one-shot grant: it refuses one already
// used, and leaves the use to Use, which the caller must call (and obey)
// once the rest of the call is authorised and before acting on it.
func (v *GrantVerifier) Check(raw string, req Request) (*Grant, error) {
	if raw == "" {
		return nil, reason.New(reason.GrantMissing, "no JIT grant was presented for a protected method")
	}
	now := v.cfg.Clock.Now()
	g, ok := v.cache.get(raw, now)
	if ok {
		// The key may have been retired (or rotated out after a leak)
		// since the grant was cached: the cache must not outlive it.
		if _, err := v.keys.Lookup(g.KeyID, now); err != nil {
			return nil, v.keyErr(err)
		}
	} else {
		var err error
		if g, err = v.verifyToken(raw, now); err != nil {
			return nil, err
		}
	}
	if err := v.authorize(g, req, now); err != nil {
		return nil, err
	}
	return g, nil
}

// Use records that the call now acting on g, a grant Check accepted, uses
// it: nil for a grant that is not one-shot or on a one-shot grant's first
// use; GRANT_REPLAYED after; ONE_SHOT_REGISTER_FULL when the verifier cannot
// record another unexpired one-shot grant. The id is held until the grant's
// exp plus leeway, the last instant this verifier would accept it.
func (v *GrantVerifier) Use(g *Grant) error {
	if !g.OneShot {
		return nil
	}
	return v.replay.Use(g.ID, g.ExpiresAt.Add(v.cfg.Leeway), v.cfg.Clock.Now())
}

// Parse checks raw's signature and claims without a request: no subject,
// scope, revocation or one-shot check. `jitbench token explain` uses it.
func (v *GrantVerifier) Parse(raw string) (*Grant, error) {
	if raw == "" {
		return nil, reason.New(reason.GrantMissing, "no JIT grant was presented")
	}
	return v.verifyToken(raw, v.cfg.Clock.Now())
}

func (v *GrantVerifier) verifyToken(raw string, now time.Time) (*Grant, error) {
	var cl GrantClaims
	tok, key, err := v.parse(raw, &cl, now)
	if err != nil {
		return nil, err
	}
	if err := v.checkClaims(tok, &cl.Claims, now); err != nil {
		return nil, err
	}
	switch {
	case cl.ID == "":
		return nil, reason.New(reason.GrantClaimMissing, "the grant has no jti claim", "claim", "jti")
	case cl.Scope == nil || len(cl.Scope.Methods) == 0:
		return nil, reason.New(reason.GrantClaimMissing, "the grant has no scope", "claim", "scope")
	}
	g := grantFrom(&cl, key.ID, key.Algorithm)
	if !g.OneShot {
		nb, exp := v.window(&cl.Claims)
		v.cache.put(raw, g, nb, exp, now)
	}
	return g, nil
}

func (v *GrantVerifier) authorize(g *Grant, req Request, now time.Time) error {
	if err := g.Check(req); err != nil {
		return err
	}
	if v.revocations != nil {
		if err := v.revocations.Check(g.ID, now); err != nil {
			return err
		}
	}
	if g.OneShot && v.replay.Used(g.ID, now) {
		return reason.New(reason.GrantReplayed, "this one-shot grant was already used", "grant_id", g.ID)
	}
	return nil
}

// CacheLen reports how many verified grants are cached.
func (v *GrantVerifier) CacheLen() int { return v.cache.len() }

// CacheBytes reports the estimated memory of the verified-grant cache.
func (v *GrantVerifier) CacheBytes() int { return v.cache.usage() }

// grantBytes estimates what a cached grant holds: the struct and its strings.
func grantBytes(g *Grant) int {
	n := int(unsafe.Sizeof(*g)) + stringsBytes(g.ID, g.RequestID, g.Issuer, g.Subject, g.Scope.Resource, g.KeyID, g.Algorithm)
	n += (len(g.Audience) + len(g.Scope.Methods)) * int(unsafe.Sizeof(""))
	return n + stringsBytes(g.Audience...) + stringsBytes(g.Scope.Methods...)
}

// Check reports whether g covers req: same subject, method in scope and, when
// req names one, resource in scope. It does not check time or revocation.
func (g *Grant) Check(req Request) error {
	if g.Subject != req.Subject {
		return reason.New(reason.GrantSubjectMismatch, "the grant was issued to another subject",
			"grant_subject", g.Subject, "identity_subject", req.Subject)
	}
	if !g.Scope.AllowsMethod(req.Method) {
		return reason.New(reason.GrantScopeMismatch, "the method called is outside the grant's scope",
			"method", req.Method, "granted_methods", strings.Join(g.Scope.Methods, ","))
	}
	if !req.HasResource {
		return nil
	}
	return g.CheckResource(req.Resource)
}

// CheckResource reports whether resource is in g's scope.
func (g *Grant) CheckResource(resource string) error {
	if !g.Scope.AllowsResource(resource) {
		return reason.New(reason.GrantScopeMismatch, "the resource is outside the grant's scope",
			"resource", resource, "granted_resource", g.Scope.Resource)
	}
	return nil
}
