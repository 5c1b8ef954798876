package buggy

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitbench/jitbench/fakes"
)

// knownNames are the header fields and claims the services read: Go's
// encoding/json, which golang-jwt decodes with, would match "EXP" or
// "Scope" to them, and let a repeated name win, so such tokens are refused
// before golang-jwt sees them.
var knownNames = []string{"alg", "kid", "typ", "crit", "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "one_shot", "rid", "groups"}

// strictJSON refuses a token whose header or payload repeats a name, or
// spells a known name in another case. The error wraps
// jwt.ErrTokenMalformed, so it is read as any other malformed token.
func strictJSON(raw string) error {
	segs := strings.Split(raw, ".")
	if len(segs) != 3 {
		return nil // golang-jwt says what is wrong with the shape
	}
	for i, what := range []string{"header", "payload"} {
		data, err := base64.RawURLEncoding.DecodeString(segs[i])
		if err != nil {
			return nil // and with the encoding
		}
		obj, err := fakes.DecodeObject(data, false)
		if err != nil {
			return fmt.Errorf("%w: the %s: %v", jwt.ErrTokenMalformed, what, err)
		}
		for _, m := range obj {
			if lower := strings.ToLower(m.Name); lower != m.Name && slices.Contains(knownNames, lower) {
				return fmt.Errorf("%w: the %s spells %q as %q", jwt.ErrTokenMalformed, what, lower, m.Name)
			}
		}
	}
	return nil
}
