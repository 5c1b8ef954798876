package zoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
)

// maxNumericDate is 9999-12-31T23:59:59Z: later times are absurd, not far.
const maxNumericDate = 253402300799

// numericDate is a JWT NumericDate read strictly: a JSON number (never a
// string; null reads as absent), finite.
type numericDate struct{ secs float64 }

// UnmarshalJSON reads a JSON number.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errors.New("a time claim is not a JSON number")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return errors.New("a time claim is out of range")
	}
	d.secs = f
	return nil
}

// time converts d, refusing times before 1970 or after 9999.
func (d *numericDate) time() (time.Time, error) {
	if math.IsNaN(d.secs) || d.secs < 0 || d.secs > maxNumericDate {
		return time.Time{}, refuse("a time claim is out of range")
	}
	sec, frac := math.Modf(d.secs)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// audience is aud as RFC 7519 has it: a string or an array of strings.
type audience struct {
	values []string
	array  bool
}

// UnmarshalJSON reads a string or an array of strings.
func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte("[")) {
		a.array = true
		return json.Unmarshal(b, &a.values)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	a.values = []string{s}
	return nil
}

// stdClaims are the registered claims, as every zoo service reads them.
type stdClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  *audience    `json:"aud"`
	Expiry    *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`
	ID        string       `json:"jti"`
}

// registeredNames are the registered claim names, for strict decoding.
var registeredNames = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// expectations are what a service requires of a token's registered claims.
type expectations struct {
	issuer, audience string
	// audArray refuses an aud that is a plain string.
	audArray bool
	// required lists claims that must be present: any of sub, exp, nbf, iat, jti.
	required []string
	// leeway tolerates clock skew; maxLife caps exp − iat (zero: no cap).
	leeway, maxLife time.Duration
	bug             Bug
}

// hugeLeeway is the leeway of the huge-leeway bug.
const hugeLeeway = time.Hour

// check applies e to c at now.
func (e expectations) check(c *stdClaims, now time.Time) error {
	if e.bug != NoIssCheck && c.Issuer != e.issuer {
		return refuse("the token comes from an issuer this service does not trust")
	}
	if e.bug != NoAudCheck {
		if c.Audience == nil || !slices.Contains(c.Audience.values, e.audience) {
			return refuse("the token was issued for another audience")
		}
		if e.audArray && !c.Audience.array {
			return refuse("aud must be an array")
		}
	}
	present := map[string]bool{"sub": c.Subject != "", "exp": c.Expiry != nil, "nbf": c.NotBefore != nil,
		"iat": c.IssuedAt != nil, "jti": c.ID != ""}
	for _, name := range e.required {
		if name == "exp" && e.bug == NoExpCheck {
			continue // BUG no-exp-check: "tokens are short-lived anyway".
		}
		if !present[name] {
			return refuse("the token has no " + name + " claim")
		}
	}
	return e.checkTimes(c, now)
}

// checkTimes checks exp, nbf, iat and the lifetime.
func (e expectations) checkTimes(c *stdClaims, now time.Time) error {
	leeway := e.leeway
	if e.bug == HugeLeeway {
		leeway = hugeLeeway // BUG huge-leeway: an hour made the skew alerts stop.
	}
	if e.bug == TimeOverflow {
		return e.checkTimesCarelessly(c, now, leeway)
	}
	var exp, iat time.Time
	var err error
	if c.Expiry != nil && e.bug != NoExpCheck {
		if exp, err = c.Expiry.time(); err != nil {
			return err
		}
		if now.Sub(exp) > leeway {
			return refuse("the token has expired")
		}
	}
	for _, d := range []*numericDate{c.NotBefore, c.IssuedAt} {
		if d == nil {
			continue
		}
		t, err := d.time()
		if err != nil {
			return err
		}
		if t.Sub(now) > leeway {
			return refuse("the token is not valid yet")
		}
		if d == c.IssuedAt {
			iat = t
		}
	}
	if e.maxLife > 0 && e.bug != NoMaxLifetime && !exp.IsZero() && !iat.IsZero() && exp.Sub(iat) > e.maxLife {
		return refuse("the token lives longer than this service allows")
	}
	return nil
}

// checkTimesCarelessly is checkTimes as the time-overflow build has it:
// BUG time-overflow: seconds are taken as they come, without a range
// check, so exp 1e19 never expires and its lifetime wraps to nothing in
// int64 nanoseconds, and nbf -1 or 1e19 (wrapped by int64) is long past.
func (e expectations) checkTimesCarelessly(c *stdClaims, now time.Time, leeway time.Duration) error {
	if c.Expiry != nil && float64(now.Unix()) > c.Expiry.secs+leeway.Seconds() {
		return refuse("the token has expired")
	}
	for _, d := range []*numericDate{c.NotBefore, c.IssuedAt} {
		if d != nil && time.Unix(int64(d.secs), 0).Sub(now) > leeway {
			return refuse("the token is not valid yet")
		}
	}
	if e.maxLife > 0 && c.Expiry != nil && c.IssuedAt != nil {
		if life := time.Duration(int64(c.Expiry.secs-c.IssuedAt.secs)) * time.Second; life > e.maxLife {
			return refuse("the token lives longer than this service allows")
		}
	}
	return nil
}
