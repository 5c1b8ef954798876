package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadExample(t *testing.T) {
	p, err := Load("testdata/example.yaml")
	require.NoError(t, err)
	assert.Equal(t, &Policy{Rules: []Rule{
		{
			Name: "vault-read",
			Match: Match{
				Service:  "demo.v1.Vault",
				Methods:  []string{"/demo.v1.Vault/Read", "/demo.v1.Vault/List"},
				Resource: "secrets/*",
			},
			Approvers:      []string{"security", "sre-leads"},
			Approvals:      1,
			MaxDuration:    30 * time.Minute,
			PendingTimeout: 10 * time.Minute,
			AutoApprove:    []AutoApprove{{Groups: []string{"oncall"}, Methods: []string{"/demo.v1.Vault/Read"}}},
		},
		{
			Name:           "vault-write",
			Match:          Match{Service: "demo.v1.Vault", Methods: []string{"/demo.v1.Vault/Write"}},
			Approvers:      []string{"security"},
			Approvals:      2,
			MaxDuration:    15 * time.Minute,
			PendingTimeout: DefaultPendingTimeout,
		},
	}}, p)
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse("min.yaml", []byte("rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    approvers: [g]\n"))
	require.NoError(t, err)
	require.Len(t, p.Rules, 1)
	r := p.Rules[0]
	assert.Equal(t, 1, r.Approvals)
	assert.Equal(t, time.Hour, r.MaxDuration)
	assert.Equal(t, 15*time.Minute, r.PendingTimeout)
	assert.Empty(t, r.Match.Resource)
}

// TestParseAnchors pins that YAML anchors, aliases and merge keys work, so
// a long policy can share blocks between rules.
func TestParseAnchors(t *testing.T) {
	src := `
defaults: &defaults
  approvers: [security]
  max_duration: 20m
rules:
  - <<: *defaults
    name: a
    match: {service: s, methods: [/s/A]}
  - <<: *defaults
    name: b
    match: {service: s, methods: &m [/s/B]}
    auto_approve:
      - groups: ["*"]
        methods: *m
`
	_, err := Parse("anchors.yaml", []byte(src))
	require.Error(t, err, "a top-level key other than rules is still unknown")
	assert.Equal(t, `anchors.yaml:2:1: unknown key "defaults" (known keys here: rules)`, err.Error())

	src = `
rules:
  - &base
    name: a
    match: {service: s, methods: [/s/A]}
    approvers: &who [security]
    max_duration: 20m
  - <<: *base
    name: b
    approvers: *who
    auto_approve:
      - groups: ["*"]
`
	p, err := Parse("anchors.yaml", []byte(src))
	require.NoError(t, err)
	require.Len(t, p.Rules, 2)
	assert.Equal(t, "b", p.Rules[1].Name)
	assert.Equal(t, 20*time.Minute, p.Rules[1].MaxDuration)
	assert.Equal(t, []string{"security"}, p.Rules[1].Approvers)
	assert.Equal(t, []string{"/s/A"}, p.Rules[1].Match.Methods)
}

func TestParseBad(t *testing.T) {
	const allowed = `want a Go duration such as "90s", "15m" or "1h30m"`
	tests := []struct {
		file string
		want string
	}{
		{"unknown_key.yaml", `7:5: rule "vault": unknown key "aprovals" (known keys here: name, match, approvers, approvals, max_duration, pending_timeout, auto_approve)`},
		{"unknown_match_key.yaml", `6:7: rule "vault": unknown key "resourse" (known keys here: service, methods, resource)`},
		{"unknown_top_key.yaml", `1:1: unknown key "rulez" (known keys here: rules)`},
		{"repeated_key.yaml", `3:5: rule "vault": mapping key "name" already defined at line 2`},
		{"bad_duration.yaml", `7:19: rule "vault": max_duration: bad duration "15 minutes": ` + allowed},
		{"negative_duration.yaml", `7:22: rule "vault": pending_timeout must not be negative, got -5m`},
		{"zero_duration.yaml", `7:19: rule "vault": max_duration must be positive, got 0s`},
		{"auto_approve_bad_after.yaml", `8:16: rule "vault": auto_approve.after: bad duration "soon": ` + allowed},
		{"zero_approvals.yaml", `7:16: rule "vault": approvals must be at least 1, got 0`},
		{"negative_approvals.yaml", `7:16: rule "vault": approvals must be at least 1, got -2`},
		{"approvals_not_number.yaml", `7:16: rule "vault": approvals must be a whole number, got "many"`},
		{"empty_approvers.yaml", `6:16: rule "vault": no approvers and no auto_approve: no request could ever be approved`},
		{"no_approvers.yaml", `2:5: rule "vault": no approvers and no auto_approve: no request could ever be approved`},
		{"auto_approve_no_groups.yaml", `7:9: rule "vault": auto_approve.groups is required ("*" for everyone)`},
		{"no_service.yaml", `4:7: rule "vault": match.service is required`},
		{"no_methods.yaml", `4:7: rule "vault": match.methods is required`},
		{"no_match.yaml", `2:5: rule "vault": match is required`},
		{"methods_not_list.yaml", `5:16: rule "vault": match.methods must be a list, got "/demo.v1.Vault/*"`},
		{"bare_method.yaml", `5:17: rule "vault": match.methods: "Get" is not a full method name such as "/demo.v1.Vault/Get" or a prefix such as "/demo.v1.Vault/*"`},
		{"star_inside.yaml", `6:17: rule "vault": "secrets/*/db": * may only end a pattern`},
		{"duplicate_name.yaml", `7:11: duplicate rule name "vault" (first defined at line 2)`},
		{"no_name.yaml", `2:5: rule 1: name is required`},
		{"no_rules.yaml", `1:8: no rules: every request would be refused`},
		{"empty.yaml", `1:1: empty file: no rules`},
		{"syntax.yaml", `4:5: did not find expected ',' or '}' (while parsing a flow mapping)`},
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	require.Len(t, tests, len(files), "every bad fixture has a case")
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			p, err := Load(path)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Equal(t, path+":"+tt.want, err.Error())
			assert.ErrorIs(t, err, ErrInvalid)
			var perr *Error
			require.True(t, errors.As(err, &perr))
			assert.Equal(t, path, perr.File)
		})
	}
}

func TestParseBadInline(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"document is a list", "- a\n", `1:1: expected a mapping of keys to values, got a list`},
		{"rules is a mapping", "rules: {a: b}\n", `1:8: rules must be a list, got a mapping`},
		{"rule is a scalar", "rules: [x]\n", `1:9: rule 1: expected a mapping of keys to values, got "x"`},
		{"null duration", "rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    approvers: [g]\n    max_duration:\n", `5:18: rule "r": max_duration must be a single value, got nothing`},
		{"integer duration", "rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    approvers: [g]\n    max_duration: 60\n", `5:19: rule "r": max_duration: bad duration "60": want a Go duration such as "90s", "15m" or "1h30m"`},
		{"empty approver", "rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    approvers: [g, \"\"]\n", `4:20: rule "r": approvers: empty entry`},
		{"approver is a list", "rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    approvers: [[g]]\n", `4:17: rule "r": approvers entry must be a single value, got a list`},
		{"float approvals", "rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    approvers: [g]\n    approvals: 1.5\n", `5:16: rule "r": approvals must be a whole number, got "1.5"`},
		{"empty methods", "rules:\n  - name: r\n    match: {service: s, methods: []}\n    approvers: [g]\n", `3:34: rule "r": match.methods is empty`},
		{"empty service", "rules:\n  - name: r\n    match: {service: \"\", methods: [/s/*]}\n    approvers: [g]\n", `3:22: rule "r": match.service is empty`},
		{"empty name", "rules:\n  - name: \"\"\n", `2:11: rule 1: name is empty`},
		{"empty groups", "rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    auto_approve: [{groups: []}]\n", `4:29: rule "r": auto_approve.groups is empty ("*" for everyone)`},
		{"auto-approve method", "rules:\n  - name: r\n    match: {service: s, methods: [/s/*]}\n    auto_approve: [{groups: [g], methods: [Get]}]\n", `4:44: rule "r": auto_approve.methods: "Get" is not a full method name such as "/demo.v1.Vault/Get" or a prefix such as "/demo.v1.Vault/*"`},
		{"two documents", "rules: []\n---\nrules: []\n", `1:1: more than one YAML document: a policy file holds one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.Equal(t, "p.yaml:"+tt.want, err.Error())
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.NotErrorIs(t, err, ErrInvalid)
}

func TestLoadRefusesAnOversizedFile(t *testing.T) {
	_, err := Load("/dev/zero")
	require.Error(t, err)
	assert.Equal(t, "policy: /dev/zero: the policy file is larger than 2 MiB, its size limit", err.Error())
}
