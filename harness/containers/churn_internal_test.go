package containers

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
)

// TestOutage measures windows over recorded calls: the outage ends with
// the first success of a call sent after it began (a reply already on its
// way when the broker died does not end it), and counts the failures in it.
func TestOutage(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	calls := []callRecord{
		{at(-50), at(-40), codes.OK},
		{at(-20), at(5), codes.OK}, // sent before the fault, answered just after: not a recovery
		{at(1), at(2), codes.Unavailable},
		{at(3), at(400), codes.DeadlineExceeded},
		{at(10), at(11), codes.Unavailable},
		{at(900), at(950), codes.OK}, // the recovery
		{at(920), at(990), codes.Unavailable},
		{at(960), at(970), codes.OK},
	}
	tests := []struct {
		name      string
		calls     []callRecord
		start     time.Time
		recovered bool
		end       time.Time
		codes     map[string]int64
	}{
		{"kill at 0", calls, t0, true, at(950), map[string]int64{"UNAVAILABLE": 2, "DEADLINE_EXCEEDED": 1}},
		{"not recovered yet", calls[:5], t0, false, time.Time{}, map[string]int64{"UNAVAILABLE": 2, "DEADLINE_EXCEEDED": 1}},
		{"nothing failed", calls[:2], at(-45), true, at(5), map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Churn{calls: tt.calls}
			o := c.Outage(tt.start)
			assert.Equal(t, tt.recovered, o.Recovered)
			assert.Equal(t, tt.end, o.End)
			assert.Equal(t, tt.codes, o.Codes)
			if tt.recovered {
				assert.Equal(t, tt.end.Sub(tt.start), o.Duration)
			} else {
				assert.Zero(t, o.Duration)
			}
		})
	}
	o := (&Churn{calls: calls}).Outage(t0)
	assert.Equal(t, "outage 950ms (recovered): DEADLINE_EXCEEDED×1, UNAVAILABLE×2", o.String())
}
