package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseShare(t *testing.T) {
	tests := []struct {
		in      string
		want    Share
		wantErr string
	}{
		{in: "100%", want: Share{Op: OpEq, Fraction: 1}},
		{in: "0%", want: Share{Op: OpEq, Fraction: 0}},
		{in: "90%", want: Share{Op: OpEq, Fraction: 0.9}},
		{in: "12.5%", want: Share{Op: OpEq, Fraction: 0.125}},
		{in: ">=90%", want: Share{Op: OpGE, Fraction: 0.9}},
		{in: "<=5%", want: Share{Op: OpLE, Fraction: 0.05}},
		{in: "≥ 90 %", want: Share{Op: OpGE, Fraction: 0.9}},
		{in: "≤5%", want: Share{Op: OpLE, Fraction: 0.05}},
		{in: "120%", wantErr: `bad percentage "120%": a share is between 0% and 100% of the calls`},
		{in: "abc", wantErr: `bad percentage "abc": write a share of calls such as 100%, 90%, ">=90%" or "<=5%"`},
		{in: "90", wantErr: `bad percentage "90": write a share of calls such as 100%, 90%, ">=90%" or "<=5%"`},
		{in: ">90%", wantErr: `bad percentage ">90%": write a share of calls such as 100%, 90%, ">=90%" or "<=5%"`},
		{in: "-5%", wantErr: `bad percentage "-5%": write a share of calls such as 100%, 90%, ">=90%" or "<=5%"`},
		{in: "0.9", wantErr: `bad percentage "0.9": write a share of calls such as 100%, 90%, ">=90%" or "<=5%"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseShare(tt.in)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.want.Raw = tt.in
			assert.Equal(t, tt.want.Op, got.Op)
			assert.InDelta(t, tt.want.Fraction, got.Fraction, 1e-12)
			assert.Equal(t, tt.in, got.String())
		})
	}
}

func TestShareCheck(t *testing.T) {
	tests := []struct {
		share string
		got   float64
		want  bool
	}{
		{"100%", 1, true},
		{"100%", 0.95, false},
		{"90%", 9.0 / 10, true},
		{"30%", 3.0 / 10, true}, // 0.30000000000000004 must still be 30%
		{"90%", 0.91, false},
		{">=90%", 0.9, true},
		{">=90%", 1, true},
		{">=90%", 0.89, false},
		{"<=5%", 0, true},
		{"<=5%", 1.0 / 20, true},
		{"<=5%", 0.06, false},
		{"0%", 0, true},
		{"0%", 0.01, false},
	}
	for _, tt := range tests {
		s, err := ParseShare(tt.share)
		require.NoError(t, err)
		assert.Equal(t, tt.want, s.Check(tt.got), "%s of %v", tt.share, tt.got)
	}
}

func TestShareMinMax(t *testing.T) {
	for _, tt := range []struct {
		share    string
		min, max float64
	}{{"40%", 0.4, 0.4}, {">=40%", 0.4, 1}, {"<=40%", 0, 0.4}} {
		s, err := ParseShare(tt.share)
		require.NoError(t, err)
		assert.InDelta(t, tt.min, s.Min(), 1e-12, tt.share)
		assert.InDelta(t, tt.max, s.Max(), 1e-12, tt.share)
	}
}
