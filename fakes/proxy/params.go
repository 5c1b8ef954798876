package proxy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Params are a fault's settings as text, whichever way they were given
// (flag, file or control API), read by the kind's New.
type Params map[string]string

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

func paramErr(name, format string, args ...any) *FieldError {
	return fieldErr("params."+name, format, args...)
}

// String returns the param name, or def when it is absent.
func (p Params) String(name, def string) string {
	if v, ok := p[name]; ok {
		return v
	}
	return def
}

// Has reports whether the param name is given.
func (p Params) Has(name string) bool {
	_, ok := p[name]
	return ok
}

// Duration reads a non-negative Go duration ("300ms", "2s"), or def when absent.
func (p Params) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, paramErr(name, "bad duration %q: write a number and a unit, such as 300ms, 2s or 1m", v)
	}
	if d < 0 {
		return 0, paramErr(name, "must not be negative, got %s", v)
	}
	return d, nil
}

// Float reads a finite decimal number, or def when absent.
func (p Params) Float(name string, def float64) (float64, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, paramErr(name, "want a number, got %q", v)
	}
	return f, nil
}

// Enum reads one of allowed (case-sensitive), or def when absent.
func (p Params) Enum(name, def string, allowed ...string) (string, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	if !slices.Contains(allowed, v) {
		return "", paramErr(name, "want one of %s, got %q", strings.Join(allowed, ", "), v)
	}
	return v, nil
}

// byteUnits are the suffixes Bytes accepts, longest first so "KiB" is not read as "B".
var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// Bytes reads a positive byte count: a whole number with an optional unit
// (B, KB, MB, GB, KiB, MiB, GiB), or def when absent.
func (p Params) Bytes(name string, def int64) (int64, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	num, mult := v, int64(1)
	for _, u := range byteUnits {
		if s, found := strings.CutSuffix(v, u.suffix); found {
			num, mult = s, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, paramErr(name, "want a positive whole number of bytes such as 65536, 64KiB or 1MB, got %q", v)
	}
	return n * mult, nil
}
