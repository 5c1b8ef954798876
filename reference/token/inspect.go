package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Decoded is a token's header and claims read without any verification, for
// diagnosis only: nothing in it may be trusted.
type Decoded struct {
	Header map[string]any
	Claims map[string]any
}

// ErrNotJWT is returned by Inspect when the input is not a decodable JWS compact token.
var ErrNotJWT = errors.New("not a JWT")

// Inspect decodes raw's header and claims without verifying anything.
func Inspect(raw string) (*Decoded, error) {
	if len(raw) > 1<<20 {
		return nil, fmt.Errorf("%w: larger than 1 MiB", ErrNotJWT)
	}
	parts := strings.SplitN(raw, ".", 4)
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: want three dot-separated segments", ErrNotJWT)
	}
	d := &Decoded{}
	for i, dst := range []*map[string]any{&d.Header, &d.Claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("%w: the %s is not base64url", ErrNotJWT, segmentName[i])
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return nil, fmt.Errorf("%w: the %s is not a JSON object", ErrNotJWT, segmentName[i])
		}
	}
	return d, nil
}

var segmentName = []string{"header", "payload", "signature"}

// Time returns the time claim name, if present and a number of seconds from
// 0 to MaxNumericDate (whole seconds: this is for display). An absurd value
// is reported absent rather than wrapped into another instant.
func (d *Decoded) Time(name string) (time.Time, bool) {
	f, ok := d.Claims[name].(float64)
	if !ok {
		return time.Time{}, false
	}
	t, err := numericFromFloat(f)
	if err != nil {
		return time.Time{}, false
	}
	return t.Truncate(time.Second), true
}

// String returns the string header or claim name (claims first), or "".
func (d *Decoded) String(name string) string {
	if s, ok := d.Claims[name].(string); ok {
		return s
	}
	s, _ := d.Header[name].(string)
	return s
}

// UnverifiedExpiry returns raw's exp claim without verifying it, or the zero
// time. Clients use it to refresh a credential before it runs out.
func UnverifiedExpiry(raw string) time.Time {
	d, err := Inspect(raw)
	if err != nil {
		return time.Time{}
	}
	t, _ := d.Time("exp")
	return t
}
