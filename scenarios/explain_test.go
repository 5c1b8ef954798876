package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		// Bounded: a 682-byte file ranging over 200000000 ran jitbench out of memory.
		{tmpl: "ok\n {{range 200000000}}x{{end}}", wantErr: `e.yaml:6:13: explain template: range goes over .Codes or .Reasons only (200000000)`},
		{tmpl: `{{range .Calls}}x{{end}}`, wantErr: `e.yaml:5:11: explain template: range goes over .Codes or .Reasons only (.Calls)`},
		{tmpl: `{{range $i := len .Codes}}x{{end}}`, wantErr: `e.yaml:5:11: explain template: range goes over .Codes or .Reasons only ($i := len .Codes)`},
		{tmpl: `{{with .Codes}}{{range .}}x{{end}}{{end}}`, wantErr: `e.yaml:5:26: explain template: range goes over .Codes or .Reasons only (.)`},
		{tmpl: `{{range .Codes}}{{range $.Reasons}}x{{end}}{{end}}`, wantErr: `e.yaml:5:27: explain template: a range inside a range is not allowed`},
		{tmpl: `{{define "t"}}x{{end}}{{template "t"}}`, wantErr: `e.yaml:5:17: explain template: {{define}} and {{block}} are not allowed`},
		{tmpl: `{{block "b" .}}x{{end}}`, wantErr: `e.yaml:5:`},
		{tmpl: `{{define "t"}}{{template "t"}}{{template "t"}}{{end}}`, wantErr: `e.yaml:5:`},
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

// TestRenderExplainIsBounded renders templates that would exhaust memory or
// time: refused by the same tree check when built in Go (never loaded), or
// stopped at MaxExplainBytes with one clear line.
func TestRenderExplainIsBounded(t *testing.T) {
	tests := []struct {
		name, tmpl, wantErr string
	}{
		{"range over a number", `{{range 200000000}}{{printf "%0999999d" 1}}{{end}}`, "range goes over .Codes or .Reasons only (200000000): an explanation loops over the counts it shows, never over a number (line 1, column 9)"},
		{"recursion", `{{define "t"}}{{template "t"}}{{template "t"}}{{end}}{{template "t"}}`, "{{define}} and {{block}} are not allowed"},
		{"one huge printf", `{{printf "%0999999d" 1}}`, "the explanation is larger than 64 KiB, its size limit"},
		{"a huge printf never written", `{{$x := len (printf "%0999999d" 1)}}{{$x}}`, "the explanation is larger than 64 KiB, its size limit"},
		{"many small writes", strings.Repeat(`{{printf "%01000d" 1}}`, 100), "the explanation is larger than 64 KiB, its size limit"},
		{"long plain text", strings.Repeat("x", MaxExplainBytes+1), "the explanation is larger than 64 KiB, its size limit"},
	}
	f := Figures{Calls: 1, Codes: map[string]int{"OK": 1}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&Scenario{Explain: tt.tmpl}).RenderExplain(f)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.Empty(t, got)
		})
	}
	got, err := (&Scenario{Explain: strings.Repeat("x", MaxExplainBytes)}).RenderExplain(f)
	require.NoError(t, err, "up to the cap renders")
	assert.Len(t, got, MaxExplainBytes)
}

// TestExplainWriterStopsAtItsDeadline: a rendering that runs past its
// deadline fails at its next write or print.
func TestExplainWriterStopsAtItsDeadline(t *testing.T) {
	past := time.Now().Add(-time.Millisecond)
	w := &cappedWriter{deadline: past}
	_, err := w.Write([]byte("x"))
	assert.ErrorIs(t, err, errExplainTooSlow)
	_, err = explainFuncs(past)["printf"].(func(string, ...any) (string, error))("%d", 1)
	assert.ErrorIs(t, err, errExplainTooSlow)
	_, err = explainFuncs(time.Now().Add(time.Hour))["printf"].(func(string, ...any) (string, error))("%d", 1)
	assert.NoError(t, err)
}
