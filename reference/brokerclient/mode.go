package brokerclient

import "fmt"

// Mode says what a verifier does when its revocation view is older than its bound.
type Mode int

// Modes; the zero value is Strict, so a forgotten setting fails closed.
const (
	// Strict refuses every grant with REVOCATION_VIEW_STALE while the view is stale.
	Strict Mode = iota
	// BestEffort keeps allowing grants on the last view, and counts each such allow.
	BestEffort
)

// String spells the mode as configuration files do: "strict" or "best_effort".
func (m Mode) String() string {
	switch m {
	case Strict:
		return "strict"
	case BestEffort:
		return "best_effort"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads "strict" or "best_effort".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "strict":
		return Strict, nil
	case "best_effort":
		return BestEffort, nil
	}
	return Strict, fmt.Errorf("unknown revocation mode %q (want strict or best_effort)", s)
}
