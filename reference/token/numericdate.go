package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
)

// NumericTime is a JWT NumericDate that accepts only a JSON number in range:
// unlike jwt.NumericDate it refuses "exp":"1700000000", a claim of the wrong
// type, and a number no time.Time can hold, which would otherwise wrap
// (1e19 seconds became an instant in the far past).
type NumericTime struct{ time.Time }

// MaxNumericDate is the latest instant a time claim may name, the last second
// of year 9999: the bound RFC 3339 timestamps can write, far enough for any
// real token and near enough that every time sum stays exact.
var MaxNumericDate = time.Unix(maxNumericSeconds, 0).UTC()

const maxNumericSeconds = 253402300799 // 9999-12-31T23:59:59Z

// ErrNotNumeric is returned when a time claim is not a JSON number.
var ErrNotNumeric = errors.New("time claim is not a JSON number")

// ErrTimeRange is returned when a time claim is a number before the epoch or after MaxNumericDate.
var ErrTimeRange = errors.New("time claim is out of range")

// UnmarshalJSON decodes seconds since the epoch, with an optional fraction,
// refusing anything but a JSON number from 0 to MaxNumericDate.
func (t *NumericTime) UnmarshalJSON(b []byte) error {
	at, err := parseNumericDate(b)
	if err != nil {
		return err
	}
	t.Time = at
	return nil
}

// MarshalJSON encodes whole seconds since the epoch.
func (t NumericTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Unix())
}

// At wraps a time for a claim, truncated to whole seconds as JWTs carry them.
func At(t time.Time) *NumericTime { return &NumericTime{t.Truncate(time.Second).UTC()} }

// parseNumericDate reads a JSON number of seconds since the epoch. An integer
// is read exactly; one with a fraction or an exponent as a float64, whose
// precision (about a microsecond up to year 9999) is ample for a claim.
func parseNumericDate(b []byte) (time.Time, error) {
	b = bytes.TrimSpace(b)
	if !jsonNumber(b) {
		return time.Time{}, ErrNotNumeric
	}
	if bytes.IndexAny(b, ".eE") < 0 {
		sec, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || sec < 0 || sec > maxNumericSeconds {
			return time.Time{}, ErrTimeRange
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return time.Time{}, ErrTimeRange // ±Inf: beyond float64
	}
	return numericFromFloat(f)
}

// numericFromFloat converts seconds since the epoch, range-checked first so
// the conversion to int64 is always defined.
func numericFromFloat(f float64) (time.Time, error) {
	// Written so NaN fails too.
	if !(f >= 0 && f <= maxNumericSeconds) {
		return time.Time{}, ErrTimeRange
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), nil
}

// jsonNumber reports whether b is exactly one JSON number (RFC 8259 §6):
// strconv alone would also take "0x1p3", "Inf", "+1" or "1_0".
func jsonNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i == len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
