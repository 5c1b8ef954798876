package diagnosis

import (
	"fmt"
	"strings"
	"time"
)

// The rows of the credentials' times, judged at the service's apparent now
// with its leeway (measured if known, else declared).

// late is how long before now c expired (negative: it expires after now).
func (f *facts) late(c *credential) time.Duration { return f.now.Sub(c.exp) }

func matchExpired(f *facts) finding {
	said := f.said(CauseTokenExpired)
	if c := f.firstCred(func(c *credential) bool {
		if !c.decoded() || !c.hasExp || !f.nowKnown {
			return false
		}
		late := f.late(c)
		return late > f.leeway || late > 0 && said != none
	}); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	if x := f.faultOf(kindClockSkew); x != nil && said != none && f.refused() {
		return finding{by: byFault, cred: f.spokenOf(), fault: x}
	}
	return f.saidAbout(CauseTokenExpired)
}

func sayExpired(f *facts, h finding) (string, string) {
	c := h.cred
	if h.by == byEvidence {
		late := f.late(c)
		if late > f.leeway && late > f.target.declaredLeeway() {
			s := fmt.Sprintf("%s expired %s before the call reached the service (exp %s, now %s %s), beyond the %s leeway (%s)",
				c.name(), dur(late), stamp(c.exp), stamp(f.now), f.clockWords(), dur(f.leeway), f.target.leewayWords())
			if c.hasIat {
				s += fmt.Sprintf("; it was issued %s before the call and lived %s", dur(f.now.Sub(c.iat)), dur(c.exp.Sub(c.iat)))
			}
			if off := f.target.Measured; off.ClockOffsetKnown && off.ClockOffset > 0 && late-off.ClockOffset <= f.leeway {
				return s, fmt.Sprintf("synchronise the service's clock (it is %s ahead of ours) or raise its leeway above %s", dur(off.ClockOffset), dur(late))
			}
			return s, "obtain a fresh " + strings.TrimPrefix(c.name(), "the ") + " and call before it expires (renew ahead of exp); if it was issued just before the call, compare the issuer's and the service's clocks"
		}
		// Within a leeway declared or measured: the service allows less.
		return fmt.Sprintf("%s had exp = now - %s when the call reached the service (%s); the service allows less than %s of leeway (%s)",
				c.name(), dur(late), f.clockWords(), dur(late), f.target.leewayWords()),
			fmt.Sprintf("declare (or measure) the service's real leeway, below %s, and send %s with more than that left before its exp", dur(late), c.name())
	}
	fix := "compare the service's clock with ours (NTP) and measure the offset; a service reading exp in another unit than seconds would do the same"
	if c == nil || !c.decoded() || !c.hasExp || !f.nowKnown {
		return "the service says a credential expired; its exp could not be judged here", fix
	}
	ahead := c.exp.Sub(f.now)
	s := fmt.Sprintf("the service says %s expired, yet its exp is %s %s", c.name(), rel(c.exp, f.now), f.clockWords())
	if ahead > 0 && !f.target.Measured.ClockOffsetKnown {
		s += fmt.Sprintf(": the service's clock is probably at least %s ahead of ours", dur(ahead))
	} else if ahead > 0 {
		s += ": by its measured clock it had not expired, so it reads exp otherwise (another unit, another token)"
	}
	if h.fault != nil {
		s += "; a clock fault was in force (" + h.fault.describe() + ")"
		fix = "expected under this fault: the skewed clock reads the token outside its window"
	}
	return s, fix
}

// early is how far ahead of now c's nbf or iat is, and which claim it is.
func (f *facts) early(c *credential) (time.Duration, string) {
	var d time.Duration
	name := ""
	if c.hasNbf {
		d, name = c.nbf.Sub(f.now), "nbf"
	}
	if c.hasIat && c.iat.Sub(f.now) > d {
		d, name = c.iat.Sub(f.now), "iat"
	}
	return d, name
}

func matchNotYetValid(f *facts) finding {
	said := f.said(CauseTokenNotYetValid)
	if c := f.firstCred(func(c *credential) bool {
		if !c.decoded() || !f.nowKnown {
			return false
		}
		early, claim := f.early(c)
		return claim != "" && (early > f.leeway || early > 0 && said != none)
	}); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	if x := f.faultOf(kindClockSkew); x != nil && said != none && f.refused() {
		return finding{by: byFault, cred: f.spokenOf(), fault: x}
	}
	return f.saidAbout(CauseTokenNotYetValid)
}

func sayNotYetValid(f *facts, h finding) (string, string) {
	c := h.cred
	if h.by == byEvidence {
		early, claim := f.early(c)
		if early > f.leeway && early > f.target.declaredLeeway() {
			return fmt.Sprintf("%s's %s is %s after the call reached the service (%s), beyond the %s leeway (%s): the issuer's clock is probably ahead of the service's",
					c.name(), claim, dur(early), f.clockWords(), dur(f.leeway), f.target.leewayWords()),
				fmt.Sprintf("synchronise the issuer's and the service's clocks (NTP), or have the issuer set %s no later than its now; a leeway above %s would also cover it", claim, dur(early))
		}
		// Within a leeway declared or measured: the service allows less.
		return fmt.Sprintf("%s's %s was %s ahead when the call reached the service (%s); the service allows less than %s of leeway (%s)",
				c.name(), claim, dur(early), f.clockWords(), dur(early), f.target.leewayWords()),
			fmt.Sprintf("declare (or measure) the service's real leeway, below %s, and synchronise the issuer's clock with the service's", dur(early))
	}
	fix := "compare the service's clock with ours (NTP) and measure the offset"
	if c == nil || !c.decoded() || !f.nowKnown {
		return "the service says a credential is not valid yet; its times could not be judged here", fix
	}
	early, claim := f.early(c)
	s := "the service says " + c.name() + " is not valid yet"
	switch {
	case claim == "":
		s += ", yet it carries neither nbf nor iat"
	case early <= 0:
		s += fmt.Sprintf(", yet its %s is %s %s: the service's clock is probably at least %s behind ours", claim, rel(f.now.Add(early), f.now), f.clockWords(), dur(-early))
	}
	if h.fault != nil {
		s += "; a clock fault was in force (" + h.fault.describe() + ")"
		fix = "expected under this fault: the skewed clock reads the token outside its window"
	}
	return s, fix
}

func matchLifetime(f *facts) finding {
	if max := f.target.maxLifetime(); max > 0 {
		if c := f.firstCred(func(c *credential) bool {
			life, ok := c.lifetime()
			return c.role == roleGrant && c.decoded() && ok && life > max
		}); c != nil {
			return finding{by: byEvidence, cred: c}
		}
	}
	h := f.saidAbout(CauseLifetimeTooLong)
	if h.by != none && f.grant.decoded() {
		h.cred = f.grant
	}
	return h
}

func sayLifetime(f *facts, h finding) (string, string) {
	c := h.cred
	if h.by == byEvidence {
		life, _ := c.lifetime()
		max := f.target.maxLifetime()
		return fmt.Sprintf("%s lives %s (exp - iat), longer than the %s the service accepts (%s)", c.name(), dur(life), dur(max), f.target.maxLifetimeWords()),
			fmt.Sprintf("request grants of at most %s", dur(max))
	}
	if c != nil && c.decoded() {
		if life, ok := c.lifetime(); ok {
			return fmt.Sprintf("%s lives %s (exp - iat) and the service says that is too long: it accepts less than %s (%s)", c.name(), dur(life), dur(life), f.target.maxLifetimeWords()),
				fmt.Sprintf("request grants shorter than %s, and declare (or measure) the service's real limit", dur(life))
		}
	}
	return "the service says a grant lives too long; its lifetime could not be read here", "request shorter grants, and declare the service's limit"
}
