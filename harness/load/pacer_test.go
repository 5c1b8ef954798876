package load_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/load"
)

// due returns when p schedules call n, read back through Pace at elapsed 0.
func due(t *testing.T, p load.Pacer, n uint64) time.Duration {
	t.Helper()
	wait, stop := p.Pace(0, n)
	require.False(t, stop, "call %d", n)
	return wait
}

func TestConstantPacer(t *testing.T) {
	tests := []struct {
		name    string
		rate    load.Rate
		elapsed time.Duration
		sent    uint64
		want    time.Duration
		stop    bool
	}{
		{"first call at once", load.Rate{Freq: 100, Per: time.Second}, 0, 0, 0, false},
		{"second call one interval later", load.Rate{Freq: 100, Per: time.Second}, 0, 1, 10 * time.Millisecond, false},
		{"on time", load.Rate{Freq: 100, Per: time.Second}, 30 * time.Millisecond, 3, 0, false},
		{"ahead waits", load.Rate{Freq: 100, Per: time.Second}, 25 * time.Millisecond, 3, 5 * time.Millisecond, false},
		{"behind is negative", load.Rate{Freq: 100, Per: time.Second}, 2 * time.Second, 100, -time.Second, false},
		{"zero period means a second", load.Rate{Freq: 4}, 0, 1, 250 * time.Millisecond, false},
		{"sub-second period", load.Rate{Freq: 50, Per: 100 * time.Millisecond}, 0, 50, 100 * time.Millisecond, false},
		{"thirds do not drift", load.Rate{Freq: 3, Per: time.Second}, 0, 3_000_000, 1_000_000 * time.Second, false},
		{"five million calls at 1000/s end at 5000s exactly", load.Rate{Freq: 1000, Per: time.Second}, 0, 5_000_000, 5000 * time.Second, false},
		{"zero rate stops", load.Rate{Freq: 0, Per: time.Second}, 0, 0, 0, true},
		{"beyond 2262 stops", load.Rate{Freq: 1, Per: time.Hour}, 0, 1 << 40, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, stop := load.ConstantPacer{Rate: tt.rate}.Pace(tt.elapsed, tt.sent)
			assert.Equal(t, tt.stop, stop)
			if !tt.stop {
				assert.Equal(t, tt.want, wait)
			}
		})
	}
}

func TestLinearPacer(t *testing.T) {
	// 0→100/s over 10s: N(t) = 5t² calls due by t, 500 by the end of the ramp.
	up := load.LinearPacer{From: 0, To: 100, Over: 10 * time.Second}
	// 100→0/s over 10s: N(t) = 100t − 5t², 500 by the end, nothing after.
	down := load.LinearPacer{From: 100, To: 0, Over: 10 * time.Second}
	tests := []struct {
		name string
		p    load.LinearPacer
		n    uint64
		want time.Duration
	}{
		{"up: first call at once", up, 0, 0},
		{"up: 5 calls by 1s", up, 5, time.Second},
		{"up: 125 calls by 5s", up, 125, 5 * time.Second},
		{"up: 500 calls at the end of the ramp", up, 500, 10 * time.Second},
		{"up: then steady at 100/s", up, 600, 11 * time.Second},
		{"down: 95 calls by 1s", down, 95, time.Second},
		{"down: 375 calls by 5s", down, 375, 5 * time.Second},
		{"flat ramp is constant", load.LinearPacer{From: 50, To: 50, Over: time.Second}, 25, 500 * time.Millisecond},
		{"no ramp time is the final rate", load.LinearPacer{From: 1, To: 10, Over: 0}, 10, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, due(t, tt.p, tt.n), float64(time.Microsecond))
		})
	}
	t.Run("ramp down to zero stops after the ramp", func(t *testing.T) {
		_, stop := down.Pace(0, 501)
		assert.True(t, stop)
	})
	t.Run("monotonic", func(t *testing.T) {
		prev := time.Duration(-1)
		for n := range uint64(2000) {
			d := due(t, up, n)
			require.Greater(t, d, prev, "call %d", n)
			prev = d
		}
	})
	assert.Equal(t, "ramp 0/s to 100/s over 10s", up.String())
}

func TestStepPacer(t *testing.T) {
	// 100, 200, 300/s for 1s each: 100 calls by 1s, 300 by 2s, 600 by 3s, then 300/s.
	p := load.StepPacer{From: 100, To: 300, Steps: 3, Over: 3 * time.Second}
	tests := []struct {
		n    uint64
		want time.Duration
	}{
		{0, 0},
		{50, 500 * time.Millisecond},
		{100, time.Second},
		{200, 1500 * time.Millisecond},
		{300, 2 * time.Second},
		{600, 3 * time.Second},
		{900, 4 * time.Second},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, due(t, p, tt.n), float64(time.Microsecond), "call %d", tt.n)
	}
	// A first step at zero sends nothing until the second.
	zero := load.StepPacer{From: 0, To: 10, Steps: 2, Over: 2 * time.Second}
	assert.Equal(t, time.Second, due(t, zero, 0))
	assert.Equal(t, "steps 100/s to 300/s in 3 steps over 3s", p.String())
}

func TestPacerFunc(t *testing.T) {
	var got []uint64
	p := load.PacerFunc(func(_ time.Duration, sent uint64) (time.Duration, bool) {
		got = append(got, sent)
		return time.Millisecond, sent > 1
	})
	_, stop := p.Pace(0, 2)
	assert.True(t, stop)
	assert.Equal(t, []uint64{2}, got)
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in        string
		perSecond float64
		err       string
	}{
		{"1000/s", 1000, ""},
		{"1000", 1000, ""},
		{" 50/100ms ", 500, ""},
		{"600/m", 10, ""},
		{"2.5/s", 2.5, ""},
		{"1/2s", 0.5, ""},
		{"0/s", 0, ""},
		{"", 0, "empty rate"},
		{"abc", 0, "want a number"},
		{"-5/s", 0, "want a number"},
		{"10/xyz", 0, "not a positive duration"},
		{"10/0s", 0, "not a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := load.ParseRate(tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.perSecond, r.PerSecond(), 1e-9)
		})
	}
}

func TestParseRamp(t *testing.T) {
	tests := []struct {
		in       string
		from, to float64
		err      string
	}{
		{"0→1000/s", 0, 1000, ""},
		{"100->1000/s", 100, 1000, ""},
		{"1/s..10/s", 1, 10, ""},
		{"10→60/m", 10.0 / 60, 1, ""},
		{"1000/s", 0, 0, "want FROM→TO"},
		{"x→10/s", 0, 0, "want a number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			from, to, err := load.ParseRamp(tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.from, from.PerSecond(), 1e-3)
			assert.InDelta(t, tt.to, to.PerSecond(), 1e-9)
		})
	}
}
