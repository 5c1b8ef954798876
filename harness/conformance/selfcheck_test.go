package conformance_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reports"
)

// TestReferencePasses is the suite's self-check: the reference, given every
// capability, passes every case of both profiles, with no skip. Each case
// runs as a subtest through the Go API.
func TestReferencePasses(t *testing.T) {
	for _, tt := range []struct {
		profile     conformance.Profile
		autoApprove bool
		na          int
	}{
		{conformance.TwoToken, false, 0},
		{conformance.SingleToken, true, 1}, // CLM-007: no separate identity
	} {
		t.Run(string(tt.profile), func(t *testing.T) {
			cfg, _ := startReference(t, referenceOptions{profile: tt.profile, autoApprove: tt.autoApprove})
			res := conformance.Run(t, cfg)
			require.NotNil(t, res)
			s := res.Summary()
			assert.Equal(t, len(conformance.Catalog()), s.Total)
			assert.Equal(t, reports.ConformanceSummary{Total: s.Total, Passed: s.Total - tt.na, NotApplicable: tt.na}, s)
			assert.Empty(t, res.Notes, "the handler probe was given")
			for _, c := range res.Cases {
				if c.ID == "ID-004" && tt.profile == conformance.SingleToken {
					assert.Contains(t, c.Detail, "not run: expired: ", "the variant left out is named")
				}
			}
			t.Logf("%s: %s in %s", tt.profile, s, time.Duration(res.Duration).Round(time.Millisecond))
		})
	}
}
