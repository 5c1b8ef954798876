package measure

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Measurer takes one measurement of a target.
type Measurer interface {
	// Measure searches t for its property; a property t cannot be measured
	// for is a CannotMeasure result, an error is a measurement that went wrong.
	Measure(ctx context.Context, t Target) (Result, error)
}

// MeasurerFunc adapts a function to Measurer.
type MeasurerFunc func(ctx context.Context, t Target) (Result, error)

// Measure calls f.
func (f MeasurerFunc) Measure(ctx context.Context, t Target) (Result, error) { return f(ctx, t) }

// The measurements' registry names.
const (
	// NameLeeway gives the leeway and the clock offset.
	NameLeeway = "leeway"
	// NameMaxLifetime gives the longest grant accepted.
	NameMaxLifetime = "max-lifetime"
	// NameRevocation gives the revocation delay's percentiles.
	NameRevocation = "revocation"
	// NameKeyRotation gives the time to honour a new key and a removed one.
	NameKeyRotation = "key-rotation"
)

// Info describes a registered measurement.
type Info struct {
	// Name is what Lookup takes.
	Name string
	// Doc says what it measures, in one line.
	Doc string
	// Needs lists the config it cannot measure without (none: any config).
	Needs []string
	// Compares lists the declared config its figures are compared with.
	Compares []string
	// Measurer takes the measurement with its defaults.
	Measurer Measurer
}

// The revocation measurement's defaults in the registry: enough samples for
// a median and a tail, each try several calls at once so the delay is the
// one a service under load shows.
const (
	registrySamples = 10
	registryLoad    = 4
)

// registry lists the measurements with their defaults, in a stable order.
var registry = []Info{
	{Name: NameLeeway, Doc: "bisects how long after exp and before nbf a grant is accepted: the leeway and the target's clock offset (±1 s, 24 h bound)",
		Compares: []string{"leeway"}, Measurer: Leeway{}},
	{Name: NameMaxLifetime, Doc: "bisects exp − iat until the target refuses: the longest grant accepted (±1 s, 30 day bound)",
		Compares: []string{"max_grant_lifetime"}, Measurer: MaxLifetime{}},
	{Name: NameRevocation, Doc: "revokes 10 grants through the config's hook and tries each, 4 calls at a time (under load), until refused: revocation delay p50, p99, max (30 s bound per sample)",
		Needs: []string{"revoke (command or url), or Config.Revoker"}, Measurer: Revocation{Samples: registrySamples, Load: registryLoad}},
	{Name: NameKeyRotation, Doc: "serves a fresh key until the target accepts it, then retires it until it refuses it: time to honour a new key and a removal",
		Needs: []string{"key_source, or Config.KeySource (a conformance.KeyRetirer for the removal)"}, Measurer: KeyRotation{}},
}

// Infos lists the registered measurements.
func Infos() []Info { return slices.Clone(registry) }

// Names lists the registered measurements' names.
func Names() []string {
	out := make([]string, len(registry))
	for i, in := range registry {
		out[i] = in.Name
	}
	return out
}

// Lookup returns the measurement called name, with its defaults.
func Lookup(name string) (Measurer, error) {
	for _, in := range registry {
		if in.Name == name {
			return in.Measurer, nil
		}
	}
	return nil, fmt.Errorf("unknown measurement %q (known: %s)", name, strings.Join(Names(), ", "))
}
