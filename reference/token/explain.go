package token

import (
	"fmt"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/reference/reason"
)

// Explanation says what a token is and whether a verifier accepts it, in plain words.
type Explanation struct {
	// Kind is "grant", "identity" or "unknown", from the typ header.
	Kind string `json:"kind"`
	// At is the instant the token was judged at.
	At time.Time `json:"at"`
	// Header and Claims are the decoded, unverified token parts (nil when undecodable).
	Header map[string]any `json:"header,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
	// Accepted is true when the verifier accepts the token at At.
	Accepted bool `json:"accepted"`
	// Reason, Message and Metadata describe the refusal.
	Reason   reason.Reason     `json:"reason"`
	Code     string            `json:"code"`
	Message  string            `json:"message,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Lines is the plain-words account, one sentence a line.
	Lines []string `json:"lines"`
}

// ExplainConfig names what the token is judged against: one config per kind.
type ExplainConfig struct {
	Grant        Config
	GrantKeys    KeyResolver
	Identity     Config
	IdentityKeys KeyResolver
	At           time.Time
}

// Explain judges raw at cfg.At with a fresh verifier (no cache) and explains the verdict.
func Explain(raw string, cfg ExplainConfig) (*Explanation, error) {
	e := &Explanation{At: cfg.At.UTC(), Kind: "unknown"}
	d, derr := Inspect(raw)
	if derr == nil {
		e.Header, e.Claims = d.Header, d.Claims
		switch typ, _ := d.Header["typ"].(string); {
		case strings.EqualFold(typ, TypeIdentity):
			e.Kind = "identity"
		case strings.EqualFold(typ, TypeGrant):
			e.Kind = "grant"
		}
	}
	clock := clockwork.NewFakeClockAt(cfg.At)
	var err error
	if e.Kind == "identity" {
		c := cfg.Identity
		c.Clock, c.CacheSize = clock, -1
		var v *IdentityVerifier
		if v, err = NewIdentityVerifier(cfg.IdentityKeys, c); err != nil {
			return nil, err
		}
		_, err = v.Verify(raw)
	} else {
		c := cfg.Grant
		c.Clock, c.CacheSize = clock, -1
		var v *GrantVerifier
		if v, err = NewGrantVerifier(cfg.GrantKeys, c); err != nil {
			return nil, err
		}
		_, err = v.Parse(raw)
	}
	e.Accepted = err == nil
	det := reason.FromError(err)
	e.Code, e.Reason, e.Message, e.Metadata = reason.CodeName(det.Code), det.Reason, det.Message, det.Metadata
	e.Lines = e.describe(d, derr, cfg)
	return e, nil
}

func (e *Explanation) describe(d *Decoded, derr error, cfg ExplainConfig) []string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	if derr != nil {
		add("This is not a decodable JWT (%v).", derr)
	} else {
		add("%s token signed with %s (kid %q), issued by %q to %q.",
			article(e.Kind), d.String("alg"), d.String("kid"), d.String("iss"), d.String("sub"))
		if iat, ok := d.Time("iat"); ok {
			add("Issued %s (%s).", relative(iat, e.At), iat.Format(time.RFC3339))
		}
		if nbf, ok := d.Time("nbf"); ok && nbf.After(e.At) {
			add("Not valid before %s (%s).", nbf.Format(time.RFC3339), relative(nbf, e.At))
		}
		if exp, ok := d.Time("exp"); ok {
			verb := "Expires"
			if exp.Before(e.At) {
				verb = "Expired"
			}
			add("%s %s (%s).", verb, relative(exp, e.At), exp.Format(time.RFC3339))
		} else if _, present := d.Claims["exp"]; present {
			add("Its exp claim is not a time from 1970 to year 9999.")
		} else {
			add("It has no exp claim.")
		}
		if sc, ok := d.Claims["scope"].(map[string]any); ok {
			add("Scope: methods %v, resource %v.", sc["methods"], orAny(sc["resource"]))
		}
	}
	if e.Accepted {
		add("Accepted at %s by a verifier trusting %q.", e.At.Format(time.RFC3339), e.issuer(cfg))
		return lines
	}
	info, _ := reason.Lookup(e.Reason)
	add("Refused with %s / %s: %s.", e.Code, e.Reason, e.Message)
	if cause := e.Metadata["cause"]; cause != "" {
		add("The underlying check that failed: %s.", cause)
	}
	if s := e.Metadata["skew_needed"]; s != "" {
		add("It would pass if the verifier's clock were %s %s (leeway %s).", s, direction(e.Reason, e.Metadata["cause"]), e.Metadata["leeway"])
	}
	if a := e.Metadata["accepted_algorithms"]; a != "" {
		add("The token offers %s; the verifier accepts only %s.", e.Metadata["offered_algorithm"], a)
	}
	if info.Fix != "" {
		add("Fix: %s.", info.Fix)
	}
	return lines
}

func (e *Explanation) issuer(cfg ExplainConfig) string {
	if e.Kind == "identity" {
		return cfg.Identity.Issuer
	}
	return cfg.Grant.Issuer
}

func direction(r reason.Reason, cause string) string {
	if r == reason.GrantNotYetValid || cause == string(reason.GrantNotYetValid) {
		return "further ahead"
	}
	return "behind"
}

func relative(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d > 0:
		return "in " + round(d).String()
	case d < 0:
		return round(-d).String() + " ago"
	}
	return "now"
}

func orAny(v any) any {
	if v == nil {
		return "(any)"
	}
	return v
}

func article(kind string) string {
	if kind == "identity" || kind == "unknown" {
		return "An " + kind
	}
	return "A " + kind
}
