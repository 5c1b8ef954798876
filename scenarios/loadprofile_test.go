package scenarios

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// perSecond stands in for the load generator's rate parser: "N/s" only.
func perSecond(rate string) (float64, error) {
	n, ok := strings.CutSuffix(rate, "/s")
	if !ok {
		return 0, errors.New("want calls per second, such as 50/s")
	}
	return strconv.ParseFloat(n, 64)
}

// withLoad is a scenario whose load section is the given lines.
func withLoad(lines ...string) string {
	return "name: x\nsummary: s\nexpect:\n  codes: {OK: 100%}\nload:\n  " + strings.Join(lines, "\n  ") + "\n"
}

func TestLoadProfileOpenLoopAndDuration(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want LoadProfile
	}{
		{"closed loop defaults", withLoad("interval: 100ms"), LoadProfile{Calls: 20, Concurrency: 1, Interval: 100 * time.Millisecond}},
		{"a rate is an open loop: no callers", withLoad("rate: 50/s"), LoadProfile{Calls: 20, Rate: "50/s"}},
		{"a duration alone sets no call count", withLoad("duration: 2s", "concurrency: 2"), LoadProfile{Concurrency: 2, Duration: 2 * time.Second}},
		{"rate, calls and duration", withLoad("rate: 10/s", "calls: 5", "duration: 1s"), LoadProfile{Calls: 5, Rate: "10/s", Duration: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(tt.yaml), LoadOptions{ParseRate: perSecond})
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Load)
		})
	}
}

func TestLoadProfileRefusals(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"rate with concurrency", withLoad("rate: 50/s", "concurrency: 2"),
			"x.yaml:7:3: load.concurrency paces a closed loop, but load.rate makes this an open loop: give one or the other"},
		{"rate with interval", withLoad("interval: 1s", "rate: 50/s"),
			"x.yaml:6:3: load.interval paces a closed loop, but load.rate makes this an open loop: give one or the other"},
		{"empty rate", withLoad(`rate: ""`), `x.yaml:6:9: load.rate is empty: write an arrival rate such as 50/s, or leave it out for a closed loop`},
		{"rate the parser refuses", withLoad("rate: 50/h"), "x.yaml:6:9: load.rate: want calls per second, such as 50/s"},
		{"zero rate", withLoad("rate: 0/s"), `x.yaml:6:9: load.rate "0/s" sends no calls: write a positive rate such as 50/s`},
		{"too many calls", withLoad("rate: 5000/s", "duration: 10m"),
			"x.yaml:6:9: load.rate 5000/s for load.duration 10m0s makes more than 1000000 calls: lower one, or set load.calls"},
		{"too long", withLoad("duration: 1h"),
			"x.yaml:6:13: load.duration 1h0m0s is longer than 10m0s: a scenario is a reproduction, not a soak test (use jitbench load)"},
		{"bad duration", withLoad("duration: soon"),
			`x.yaml:6:13: bad duration "soon" for load.duration: write a number and a unit, such as 300ms, 30s, 2m or 1h30m`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml), LoadOptions{ParseRate: perSecond})
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestLoadProfileRateUncheckedWithoutParser(t *testing.T) {
	s, err := Parse("x.yaml", []byte(withLoad("rate: 50/h")), LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, "50/h", s.Load.Rate)
}
