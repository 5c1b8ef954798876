package conformance_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/conformance"
)

func ids(cases []conformance.Case) []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.ID
	}
	return out
}

func TestSelect(t *testing.T) {
	for _, tt := range []struct {
		name      string
		run, skip []string
		want      []string
	}{
		{"a family", []string{"ALG-*"}, nil, []string{"ALG-001", "ALG-002", "ALG-003"}},
		{"lower case", []string{"alg-00?"}, nil, []string{"ALG-001", "ALG-002", "ALG-003"}},
		{"several, in catalog order", []string{"OUT-001", "OK-001"}, nil, []string{"OK-001", "OUT-001"}},
		{"a range", []string{"CLM-00[1-3]"}, []string{"CLM-002"}, []string{"CLM-001", "CLM-003"}},
		{"skip families", nil, []string{"[A-C]*", "[E-Z]*"}, []string{"DL-001", "DL-002", "DL-003"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := conformance.Select(tt.run, tt.skip)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(got))
		})
	}
	all, err := conformance.Select(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, conformance.IDs(), ids(all))
	assert.Len(t, all, 49, "every row of CONFORMANCE.md")

	none, err := conformance.Select(nil, []string{"DL-*"})
	require.NoError(t, err)
	assert.NotContains(t, ids(none), "DL-001")
	assert.Len(t, none, 46)
}

func TestSelectRefuses(t *testing.T) {
	for _, tt := range []struct {
		name      string
		run, skip []string
		want      string
	}{
		{"run matches nothing", []string{"XYZ-*"}, nil, `--run "XYZ-*" matches no case id`},
		{"skip matches nothing", nil, []string{"ALG-9*"}, `--skip "ALG-9*" matches no case id`},
		{"malformed", []string{"ALG-[1"}, nil, `--run "ALG-[1": syntax error in pattern`},
		{"nothing left", []string{"ALG-*"}, []string{"ALG-*"}, "leaves no case to run"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conformance.Select(tt.run, tt.skip)
			require.ErrorIs(t, err, conformance.ErrSelection)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestCatalogIsCONFORMANCEmd(t *testing.T) {
	cat := conformance.Catalog()
	seen := map[string]bool{}
	for _, c := range cat {
		assert.False(t, seen[c.ID], "%s twice", c.ID)
		seen[c.ID] = true
		assert.NotEmpty(t, c.Fault, c.ID)
		got, ok := conformance.Lookup(c.ID)
		require.True(t, ok)
		assert.Equal(t, c.ID, got.ID)
	}
	clm7, _ := conformance.Lookup("CLM-007")
	assert.True(t, clm7.SingleToken.NotApplicable, "CLM-007 has no single-token expectation")
	fmt3, _ := conformance.Lookup("FMT-003")
	assert.Equal(t, "ResourceExhausted", fmt3.Also[0].String())
	_, ok := conformance.Lookup("ZZZ-001")
	assert.False(t, ok)
	// Families in catalog order, as published.
	var families []string
	for _, c := range cat {
		f := strings.SplitN(c.ID, "-", 2)[0]
		if len(families) == 0 || families[len(families)-1] != f {
			families = append(families, f)
		}
	}
	assert.Equal(t, []string{"OK", "ID", "FMT", "SIG", "ALG", "KEY", "CLM", "SCP", "SKW", "DL", "OUT"}, families)
}

func TestKnownFailingList(t *testing.T) {
	list := `# cases our service still fails
ALG-001   # tracked in #12

clm-004
`
	k, err := conformance.ParseKnownFailing("known.txt", strings.NewReader(list))
	require.NoError(t, err)
	assert.Equal(t, []string{"ALG-001", "CLM-004"}, k.IDs())
	assert.True(t, k.Has("CLM-004"))
	assert.False(t, k.Has("OK-001"))

	var none *conformance.KnownFailing
	assert.False(t, none.Has("ALG-001"), "a nil list lists nothing")

	for _, tt := range []struct{ name, list, want string }{
		{"unknown id", "ALG-001\nALG-009\n", `known.txt:2: unknown case id "ALG-009"`},
		{"listed twice", "ALG-001\n# again\nALG-001\n", "known.txt:3: ALG-001 is listed twice (first at line 1)"},
		{"two on a line", "ALG-001 ALG-002\n", `known.txt:1: one case id per line, got "ALG-001 ALG-002"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conformance.ParseKnownFailing("known.txt", strings.NewReader(tt.list))
			require.ErrorIs(t, err, conformance.ErrKnownFailing)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err = conformance.NewKnownFailing("OK-001", "NOPE-1")
	require.ErrorIs(t, err, conformance.ErrKnownFailing)
	_, err = conformance.LoadKnownFailing("/nonexistent/known.txt")
	require.ErrorIs(t, err, conformance.ErrKnownFailing)
}
