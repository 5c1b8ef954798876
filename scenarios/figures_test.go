package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFiguresShare(t *testing.T) {
	f := Figures{Calls: 8, Codes: map[string]int{"OK": 7, "PERMISSION_DENIED": 1}, Reasons: map[string]int{"GRANT_EXPIRED": 1}}
	tests := map[string]string{
		"OK":                "87.5%",
		"PERMISSION_DENIED": "12.5%",
		"GRANT_EXPIRED":     "12.5%",
		"UNAVAILABLE":       "0%",
	}
	for name, want := range tests {
		assert.Equal(t, want, f.Share(name), name)
	}
	assert.Equal(t, "0%", Figures{}.Share("OK"), "no calls, no share")
	assert.Equal(t, "33.3%", Figures{Calls: 3, Codes: map[string]int{"OK": 1}}.Share("OK"))
}

func TestFiguresMeta(t *testing.T) {
	f := Figures{MetaCounts: map[string]map[string]int{
		"expired_ago": {"1m0s": 3, "59s": 5},
		"kid":         {"b": 2, "a": 2},
	}}
	tests := map[string]string{
		"expired_ago": "59s",
		"kid":         "a", // a tie goes to the value that sorts first
		"absent":      "",
	}
	for key, want := range tests {
		assert.Equal(t, want, f.Meta(key), key)
	}
}

func TestRenderExplain(t *testing.T) {
	s := &Scenario{Explain: `{{.Share "PERMISSION_DENIED"}} of {{.Calls}} refused; skew {{.SkewSeen}}, leeway {{.Leeway}}, kid {{.Meta "kid"}}.`}
	got, err := s.RenderExplain(Figures{
		Calls: 4, Codes: map[string]int{"PERMISSION_DENIED": 4},
		SkewSeen: 2 * time.Minute, Leeway: 30 * time.Second,
		MetaCounts: map[string]map[string]int{"kid": {"k1": 4}},
	})
	require.NoError(t, err)
	assert.Equal(t, "100% of 4 refused; skew 2m0s, leeway 30s, kid k1.", got)

	got, err = (&Scenario{}).RenderExplain(Figures{})
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestFigureNamesMatchFigures keeps the loader's list of names and the
// Figures type in step: a name the loader allows must render.
func TestFigureNamesMatchFigures(t *testing.T) {
	for _, name := range figureNames {
		tmpl := "{{." + name + "}}"
		if name == "Share" || name == "Meta" {
			tmpl = "{{." + name + ` "OK"}}`
		}
		_, err := (&Scenario{Explain: tmpl}).RenderExplain(Figures{})
		assert.NoError(t, err, name)
	}
}
