package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// withExplain returns a scenario whose explain is tmpl as a literal block
// starting on line 5, indented by two spaces.
func withExplain(tmpl string) []byte {
	lines := strings.Split(tmpl, "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return []byte("name: e\nsummary: s\nexpect: {codes: {OK: 100%}}\nexplain: |\n" + strings.Join(lines, "\n") + "\n")
}

func TestExplainCheck(t *testing.T) {
	tests := []struct {
		tmpl    string
		wantErr string
	}{
		{tmpl: `{{.Calls}} calls, {{.Share "OK"}} OK, {{.Share "GRANT_EXPIRED"}} expired, p50 {{.P50}}, p99 {{.P99}}`},
		{tmpl: `{{.Deadline}} {{.ApprovalWait}} {{.SkewSeen}} {{.TokenAge}} {{.ExpiredAgo}} {{.Leeway}} {{.OfferedAlg}} {{.AcceptedAlgs}}`},
		{tmpl: `{{index .Codes "OK"}} {{.Reasons.GRANT_EXPIRED}} {{len .Codes}}`},
		{tmpl: `{{range $code, $n := .Codes}}{{$code}}={{$n}} of {{$.Calls}} {{end}}`},
		{tmpl: `{{with .Meta "comment"}}said "{{.}}"{{else}}{{.Calls}} calls{{end}}`},
		{tmpl: `{{if gt .Calls 0}}{{printf "%d" .Calls}}{{end}} {{$.Share "OK"}} {{(.Meta "kid")}}`},
		{tmpl: `{{range .Codes}}{{.Whatever}}{{end}}`}, // dot is a count in there; nothing to check
		{tmpl: "plain words only"},
		{tmpl: "line one\n{{.Skew}}", wantErr: "e.yaml:6:5: explain template: unknown figure .Skew (did you mean .SkewSeen?)"},
		{tmpl: `{{range .Codes}}{{$.Nope}}{{end}}`, wantErr: "e.yaml:5:22: explain template: unknown figure .Nope"},
		{tmpl: `{{.Share}}`, wantErr: `e.yaml:5:5: explain template: .Share takes one name, as in {{.Share "PERMISSION_DENIED"}}`},
		{tmpl: `{{.Meta "a" "b"}}`, wantErr: `e.yaml:5:5: explain template: .Meta takes one name, as in {{.Meta "expired_ago"}}`},
		{tmpl: `{{.Share "GRANT_EXPRED"}}`, wantErr: `e.yaml:5:12: explain template: .Share "GRANT_EXPRED" names neither a gRPC code nor a reason (did you mean "GRANT_EXPIRED"?)`},
		{tmpl: `{{.Calls "x"}}`, wantErr: `e.yaml:5:12: explain template: .Calls is a figure, not a function: it takes no arguments`},
		{tmpl: `{{.Calls | .Share}}`, wantErr: `e.yaml:5:14: explain template: .Share takes one name, as in {{.Share "PERMISSION_DENIED"}}`},
		{tmpl: "a\nb\n{{nosuchfunc .Calls}}", wantErr: `e.yaml:7:3: explain template: function "nosuchfunc" not defined`},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			_, err := Parse("e.yaml", withExplain(tt.tmpl), LoadOptions{})
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			if assert.Error(t, err) {
				assert.True(t, strings.HasPrefix(err.Error(), tt.wantErr), "got %q\nwant prefix %q", err.Error(), tt.wantErr)
			}
		})
	}
}

func TestExplainErrorOutsideLiteralBlockPointsAtValue(t *testing.T) {
	data := []byte("name: e\nsummary: s\nexpect: {codes: {OK: 100%}}\nexplain: \"{{.Nope}}\"\n")
	_, err := Parse("e.yaml", data, LoadOptions{})
	assert.ErrorContains(t, err, "e.yaml:4:10: explain template: unknown figure .Nope")
}
