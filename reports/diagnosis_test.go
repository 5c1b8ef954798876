package reports_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// withDiagnoses is the fixture as a run against a user's service left it.
func withDiagnoses(t *testing.T) *reports.Result {
	r := fixture(t)
	r.Diagnoses = []reports.Diagnosis{
		{Cause: "token-expired", Known: true, Calls: 2, Summary: "the grant had exp = now − 4 s", Fix: "renew grants before exp"},
		{Cause: "unknown", Calls: 1, Summary: "the grant is valid by the declared config"},
	}
	r.Findings = []string{"leeway: declared leeway 30s, measured 30s: as declared (±1s)"}
	return r
}

func TestDiagnosesRender(t *testing.T) {
	for _, format := range []string{"html", "md"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, reports.Render(&b, withDiagnoses(t), format))
			out := b.String()
			assert.Contains(t, out, "Diagnosis of the failed calls")
			assert.Contains(t, out, "token-expired")
			assert.Contains(t, out, "renew grants before exp")
			assert.Contains(t, out, "unknown (cause not told)")
			assert.Contains(t, out, "declared leeway 30s, measured 30s")
		})
	}
}

func TestDiagnosesRoundTripAndCheck(t *testing.T) {
	r := withDiagnoses(t)
	var b bytes.Buffer
	require.NoError(t, reports.Write(&b, r))
	back, err := reports.Read(&b)
	require.NoError(t, err)
	assert.Equal(t, r.Diagnoses, back.Diagnoses)
	assert.Equal(t, r.Findings, back.Findings)

	r.Diagnoses[0].Calls = r.Calls + 1
	b.Reset()
	require.NoError(t, reports.Write(&b, r))
	_, err = reports.Read(&b)
	assert.ErrorContains(t, err, "the diagnoses count")
}

func TestMergeAddsDiagnosesByCause(t *testing.T) {
	a, b := withDiagnoses(t), withDiagnoses(t)
	b.Diagnoses = []reports.Diagnosis{{Cause: "unknown", Calls: 4, Summary: "other"}}
	m, err := reports.Merge(a, b)
	require.NoError(t, err)
	require.Len(t, m.Diagnoses, 2)
	assert.Equal(t, reports.Diagnosis{Cause: "unknown", Calls: 5, Summary: "the grant is valid by the declared config"}, m.Diagnoses[0])
	assert.Equal(t, int64(2), m.Diagnoses[1].Calls)
}
