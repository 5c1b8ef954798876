package zoo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// headerNames are the JOSE header parameters a case variant of is refused.
var headerNames = []string{"alg", "kid", "typ", "cty", "crit", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "b64"}

// compact is a compact-serialized JWS split and decoded strictly: three
// segments of unpadded base64url without stray bits, a header and a payload
// that are each one JSON object.
type compact struct {
	header  map[string]any // numbers as json.Number
	payload []byte
	sig     []byte
	input   string // the signing input: the first two segments
}

// splitCompact splits raw; claims are the payload names whose case variants
// s may refuse. Every refusal says what is wrong without quoting raw.
func splitCompact(raw string, claims []string, s strictness) (*compact, error) {
	if strings.Count(raw, ".") != 2 {
		return nil, refuse("not a JWT: want three dot-separated segments")
	}
	seg := strings.Split(raw, ".")
	var dec [3][]byte
	for i, part := range seg {
		b, err := base64.RawURLEncoding.Strict().DecodeString(part)
		if err != nil {
			return nil, refuse("not a JWT: a segment is not unpadded base64url")
		}
		dec[i] = b
	}
	if err := checkJSONObject(dec[0], headerNames, s); err != nil {
		return nil, refuse("malformed header: " + err.Error())
	}
	if err := checkJSONObject(dec[1], claims, s); err != nil {
		return nil, refuse("malformed claims: " + err.Error())
	}
	c := &compact{payload: dec[1], sig: dec[2], input: seg[0] + "." + seg[1]}
	d := json.NewDecoder(bytes.NewReader(dec[0]))
	d.UseNumber()
	if err := d.Decode(&c.header); err != nil {
		return nil, refuse("malformed header")
	}
	return c, nil
}

// str returns the header parameter name when it is a string.
func (c *compact) str(name string) string {
	s, _ := c.header[name].(string)
	return s
}

// has reports whether the header carries name at all.
func (c *compact) has(name string) bool {
	_, ok := c.header[name]
	return ok
}

// thirdSegment is how the buggy audit logs fingerprint a token: it indexes
// the third segment without checking there is one, so a token of fewer
// segments panics (the panic-on-malformed bug).
func thirdSegment(raw string) string {
	return strings.Split(raw, ".")[2]
}
