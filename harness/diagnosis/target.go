package diagnosis

import (
	"time"

	"github.com/jitbench/jitbench/reference/token"
)

// Target is what the config declares and what has been measured about the service.
type Target struct {
	// Leeway is the declared clock-skew tolerance; zero means token.DefaultLeeway, as in the conformance config.
	Leeway time.Duration
	// MaxLifetime is the declared longest grant (exp − iat) the service accepts; zero means none declared.
	MaxLifetime time.Duration
	// Algorithms is the declared pinned list; nil means token.DefaultAlgorithms().
	Algorithms []string
	// Audience is the aud every credential must carry; "" leaves aud unchecked.
	Audience string
	// GrantIssuer and IdentityIssuer are the iss the service trusts; "" leaves iss unchecked.
	GrantIssuer, IdentityIssuer string
	// SingleToken says the service takes one token (the grant) instead of an identity token and a grant.
	SingleToken bool
	// GrantHeader and IdentityHeader name the credential headers, for the words;
	// "" means "x-jit-grant" and "authorization" (the single token goes in IdentityHeader).
	GrantHeader, IdentityHeader string
	// GrantKeys and IdentityKeys are the issuers' keys, optional: with them a signature
	// the issuer's key made is told from one it did not make.
	GrantKeys, IdentityKeys *token.KeySet
	// Measured holds the figures measured against the service, optional.
	Measured Measured
}

// Measured holds figures measured against the service; each counts only when its Known flag is set.
type Measured struct {
	// Leeway is the clock-skew tolerance the service was seen to allow.
	Leeway      time.Duration
	LeewayKnown bool
	// ClockOffset is the service's clock minus ours: positive when the service's clock is ahead.
	ClockOffset      time.Duration
	ClockOffsetKnown bool
	// MaxLifetime is the longest grant the service was seen to accept.
	MaxLifetime      time.Duration
	MaxLifetimeKnown bool
}

// leeway is the tolerance to judge times with: measured if known, else declared.
func (t Target) leeway() time.Duration {
	if t.Measured.LeewayKnown {
		return t.Measured.Leeway
	}
	return t.declaredLeeway()
}

func (t Target) declaredLeeway() time.Duration {
	if t.Leeway == 0 {
		return token.DefaultLeeway
	}
	return t.Leeway
}

// leewayWords gives both leeways, e.g. "declared 30s, measured 0s".
func (t Target) leewayWords() string {
	s := "declared " + dur(t.declaredLeeway())
	if t.Measured.LeewayKnown {
		return s + ", measured " + dur(t.Measured.Leeway)
	}
	return s + ", not measured"
}

// maxLifetime is the longest grant to judge with: measured if known, else declared (0: none).
func (t Target) maxLifetime() time.Duration {
	if t.Measured.MaxLifetimeKnown {
		return t.Measured.MaxLifetime
	}
	return t.MaxLifetime
}

func (t Target) maxLifetimeWords() string {
	s := "declared none"
	if t.MaxLifetime > 0 {
		s = "declared " + dur(t.MaxLifetime)
	}
	if t.Measured.MaxLifetimeKnown {
		return s + ", measured " + dur(t.Measured.MaxLifetime)
	}
	return s
}

func (t Target) algorithms() []string {
	if len(t.Algorithms) == 0 {
		return token.DefaultAlgorithms()
	}
	return t.Algorithms
}

// header names the header that carries the credential of role.
func (t Target) header(role string) string {
	if role == roleGrant && !t.SingleToken {
		return orDefault(t.GrantHeader, "x-jit-grant")
	}
	return orDefault(t.IdentityHeader, "authorization")
}

// clockWords says whose clock the times were judged by.
func (t Target) clockWords() string {
	if !t.Measured.ClockOffsetKnown {
		return "by our clock, the service's offset not measured"
	}
	if t.Measured.ClockOffset == 0 {
		return "by the service's clock, measured the same as ours"
	}
	return "by the service's clock, measured at ours " + signed(t.Measured.ClockOffset)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
