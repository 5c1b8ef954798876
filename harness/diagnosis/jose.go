package diagnosis

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// A token is decoded here without being trusted, but strictly, as the
// project's verifier does: strict base64url, no repeated member name at any
// depth (go-json-experiment rejects them by default, unlike encoding/json,
// which lets the last win), valid UTF-8, and no case variant of a name read
// ("EXP" beside or instead of "exp"). A token that breaks a rule is
// malformed: a service may read it otherwise than we do.

// maxTokenBytes bounds a token decoded for a diagnosis.
const maxTokenBytes = 1 << 20

// maxNumericSeconds is the last second of year 9999, the latest time claim read.
const maxNumericSeconds = 253402300799

var b64 = base64.RawURLEncoding.Strict()

// jose is a token's header and claims, unverified, and what was signed.
type jose struct {
	header, claims map[string]jsontext.Value
	// input is the signing input (header.payload), sig the decoded signature.
	input string
	sig   []byte
}

var (
	headerRead = []string{"alg", "kid", "typ", "crit"}
	claimsRead = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}
)

// decodeJOSE splits and decodes raw, or says in words why it cannot.
func decodeJOSE(raw string) (*jose, string) {
	if len(raw) > maxTokenBytes {
		return nil, fmt.Sprintf("is %d bytes, larger than the 1 MiB jitbench decodes", len(raw))
	}
	if n := strings.Count(raw, "."); n != 2 {
		return nil, fmt.Sprintf("is not three dot-separated segments (it has %s)", count(n, "dot"))
	}
	segs := strings.SplitN(raw, ".", 3)
	var bytes [3][]byte
	for i, seg := range segs {
		b, err := b64.DecodeString(seg)
		if err != nil {
			return nil, fmt.Sprintf("has a %s that is not strict base64url", segmentNames[i])
		}
		bytes[i] = b
	}
	j := &jose{input: segs[0] + "." + segs[1], sig: bytes[2]}
	var why string
	if j.header, why = decodeObject(bytes[0], "header", "parameter", headerRead); why != "" {
		return nil, why
	}
	if j.claims, why = decodeObject(bytes[1], "payload", "claim", claimsRead); why != "" {
		return nil, why
	}
	return j, ""
}

var segmentNames = [3]string{"header", "payload", "signature"}

// decodeObject decodes one JSON object strictly; read are the member names
// a diagnosis reads, whose case variants are refused.
func decodeObject(b []byte, part, noun string, read []string) (map[string]jsontext.Value, string) {
	var obj map[string]jsontext.Value
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return nil, "has a " + part + " that repeats a member name" + duplicateAt(err)
		}
		return nil, "has a " + part + " that is not one JSON object (valid UTF-8, no repeated names)"
	}
	for name := range obj {
		for _, r := range read {
			if name != r && strings.EqualFold(name, r) {
				return nil, fmt.Sprintf("has %s in its %s, a case variant of the %s %s: names are case-sensitive", quote(name), part, r, noun)
			}
		}
	}
	return obj, ""
}

// duplicateAt names where a repeated name is, when the decoder says.
func duplicateAt(err error) string {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && se.JSONPointer != "" {
		return " (at " + quote(string(se.JSONPointer)) + ")"
	}
	return ""
}

// fields reads the members of a decoded token a diagnosis uses, recording
// the first of them that has the wrong type.
type fields struct {
	j   *jose
	bad string
}

func (f *fields) fail(format string, args ...any) {
	if f.bad == "" {
		f.bad = fmt.Sprintf(format, args...)
	}
}

// str reads a string member of obj; "" when absent.
func (f *fields) str(obj map[string]jsontext.Value, part, name string) string {
	v, ok := obj[name]
	if !ok {
		return ""
	}
	var s string
	if v.Kind() != '"' || json.Unmarshal(v, &s) != nil {
		f.fail("has a %s %s that is not a string", name, part)
		return ""
	}
	return s
}

// audience reads aud: a string or an array of strings.
func (f *fields) audience() ([]string, bool) {
	v, ok := f.j.claims["aud"]
	if !ok {
		return nil, false
	}
	switch v.Kind() {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return []string{s}, true
		}
	case '[':
		var ss []string
		if json.Unmarshal(v, &ss) == nil {
			return ss, true
		}
	}
	f.fail("has an aud claim that is neither a string nor an array of strings")
	return nil, false
}

// time reads a NumericDate claim: a JSON number of seconds from 1970 to year 9999.
func (f *fields) time(name string) (time.Time, bool) {
	v, ok := f.j.claims[name]
	if !ok {
		return time.Time{}, false
	}
	if v.Kind() != '0' {
		f.fail("has an %s claim that is not a JSON number", name)
		return time.Time{}, false
	}
	s := strings.TrimSpace(string(v))
	var sec float64
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil && n >= 0 && n <= maxNumericSeconds {
			return time.Unix(n, 0).UTC(), true
		}
		sec, _ = strconv.ParseFloat(s, 64)
	} else {
		sec, _ = strconv.ParseFloat(s, 64)
		// Written so NaN fails too.
		if sec >= 0 && sec <= maxNumericSeconds {
			whole := math.Floor(sec)
			return time.Unix(int64(whole), int64((sec-whole)*1e9)).UTC(), true
		}
	}
	if sec > maxNumericSeconds && sec <= maxNumericSeconds*1000 {
		f.fail("has an %s claim past year 9999: it looks like milliseconds, and NumericDate is seconds", name)
	} else {
		f.fail("has an %s claim that is not a time from 1970 to year 9999", name)
	}
	return time.Time{}, false
}
