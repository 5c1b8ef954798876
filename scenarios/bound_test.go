package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBound(t *testing.T) {
	tests := []struct {
		in      string
		want    Bound
		wantErr string
	}{
		{in: "<500ms", want: Bound{Op: OpLT, Duration: 500 * time.Millisecond}},
		{in: "<=2s", want: Bound{Op: OpLE, Duration: 2 * time.Second}},
		{in: ">1s", want: Bound{Op: OpGT, Duration: time.Second}},
		{in: ">= 100ms", want: Bound{Op: OpGE, Duration: 100 * time.Millisecond}},
		{in: "≤1m30s", want: Bound{Op: OpLE, Duration: 90 * time.Second}},
		{in: "500ms", wantErr: `bad latency bound "500ms": write a comparison and a duration, such as <500ms, <=2s or ">1s"`},
		{in: "<fast", wantErr: `bad latency bound "<fast": "fast" is not a duration such as 300ms, 2s or 1m`},
		{in: "<-1s", wantErr: `bad latency bound "<-1s": "-1s" is not a duration such as 300ms, 2s or 1m`},
		{in: "=1s", wantErr: `bad latency bound "=1s": write a comparison and a duration, such as <500ms, <=2s or ">1s"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBound(tt.in)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.want.Raw = tt.in
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBoundCheck(t *testing.T) {
	tests := []struct {
		bound string
		got   time.Duration
		want  bool
	}{
		{"<500ms", 499 * time.Millisecond, true},
		{"<500ms", 500 * time.Millisecond, false},
		{"<=500ms", 500 * time.Millisecond, true},
		{"<=500ms", 501 * time.Millisecond, false},
		{">1s", time.Second, false},
		{">1s", time.Second + 1, true},
		{">=1s", time.Second, true},
		{">=1s", time.Second - 1, false},
	}
	for _, tt := range tests {
		b, err := ParseBound(tt.bound)
		require.NoError(t, err)
		assert.Equal(t, tt.want, b.Check(tt.got), "%s of %v", tt.bound, tt.got)
	}
}

func TestParsePercentile(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{in: "p50", want: 50},
		{in: "p99", want: 99},
		{in: "p99.9", want: 99.9},
		{in: "p100", want: 100},
		{in: "p0", wantErr: `unknown latency percentile "p0": a percentile is above 0 and at most 100`},
		{in: "p101", wantErr: `unknown latency percentile "p101": a percentile is above 0 and at most 100`},
		{in: "P99", wantErr: `unknown latency percentile "P99": write p50, p90, p99, p99.9 or p100`},
		{in: "max", wantErr: `unknown latency percentile "max": write p50, p90, p99, p99.9 or p100`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePercentile(tt.in)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-12)
		})
	}
}
