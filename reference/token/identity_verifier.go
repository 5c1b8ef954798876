package token

import (
	"errors"
	"time"
	"unsafe"

	"github.com/jitbench/jitbench/reference/reason"
)

// IdentityVerifier checks identity tokens. It shares the grant checks but
// reports every failure as an identity reason (the caller is unknown), keeping
// the precise check in the "cause" metadata.
type IdentityVerifier struct {
	core
	cache *cache[Identity]
}

// NewIdentityVerifier returns a verifier of identity tokens signed by keys under cfg; Type defaults to TypeIdentity.
func NewIdentityVerifier(keys KeyResolver, cfg Config) (*IdentityVerifier, error) {
	cfg, err := cfg.withDefaults(TypeIdentity)
	if err != nil {
		return nil, err
	}
	return &IdentityVerifier{core: newCore(keys, cfg), cache: newCache(cfg.CacheSize, cfg.CacheBytes, identityBytes)}, nil
}

// CacheLen reports how many verified identity tokens are cached.
func (v *IdentityVerifier) CacheLen() int { return v.cache.len() }

// CacheBytes reports the estimated memory of the verified-identity cache.
func (v *IdentityVerifier) CacheBytes() int { return v.cache.usage() }

// identityBytes estimates what a cached identity holds: the struct and its strings.
func identityBytes(id *Identity) int {
	return int(unsafe.Sizeof(*id)) + stringsBytes(id.Subject, id.Issuer, id.KeyID, id.Algorithm) +
		len(id.Groups)*int(unsafe.Sizeof("")) + stringsBytes(id.Groups...)
}

// Verify checks raw and returns the identity it proves, or a *reason.Error with an identity reason.
func (v *IdentityVerifier) Verify(raw string) (*Identity, error) {
	if raw == "" {
		return nil, reason.New(reason.IdentityMissing, "no identity credential was presented")
	}
	now := v.cfg.Clock.Now()
	if id, ok := v.cache.get(raw, now); ok {
		if _, err := v.keys.Lookup(id.KeyID, now); err != nil {
			return nil, asIdentity(v.keyErr(err))
		}
		return id, nil
	}
	id, err := v.verifyToken(raw, now)
	if err != nil {
		return nil, asIdentity(err)
	}
	return id, nil
}

func (v *IdentityVerifier) verifyToken(raw string, now time.Time) (*Identity, error) {
	var cl IdentityClaims
	tok, key, err := v.parse(raw, &cl, now)
	if err != nil {
		return nil, err
	}
	if err := v.checkClaims(tok, &cl.Claims, now); err != nil {
		return nil, err
	}
	id := &Identity{
		Subject:   cl.Subject,
		Groups:    cl.Groups,
		Issuer:    cl.Issuer,
		IssuedAt:  cl.IssuedAt.Time,
		ExpiresAt: cl.ExpiresAt.Time,
		KeyID:     key.ID,
		Algorithm: key.Algorithm,
	}
	nb, exp := v.window(&cl.Claims)
	v.cache.put(raw, id, nb, exp, now)
	return id, nil
}

// asIdentity maps a grant reason from the shared checks to the identity reason a caller sees.
func asIdentity(err error) error {
	var re *reason.Error
	if !errors.As(err, &re) {
		return reason.New(reason.IdentityInvalid, "the identity token could not be verified")
	}
	if re.Reason == reason.BrokerUnavailable {
		// The caller may be fine; the key source is not. Saying
		// UNAUTHENTICATED would blame the caller for an outage.
		return re
	}
	out := &reason.Error{Message: "identity: " + re.Message, Metadata: re.Metadata}
	switch re.Reason {
	case reason.GrantMalformed, reason.GrantTooLarge:
		out.Reason = reason.IdentityMalformed
	case reason.GrantExpired, reason.GrantNotYetValid:
		out.Reason = reason.IdentityExpired
	default:
		out.Reason = reason.IdentityInvalid
	}
	out.Set("cause", string(re.Reason))
	return out
}
