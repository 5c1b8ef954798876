package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testPolicy has rules that differ only in what they match, in order.
func testPolicy() *Policy {
	return &Policy{Rules: []Rule{
		{Name: "exact", Match: Match{Service: "svc", Methods: []string{"/svc/Get"}, Resource: "db/main"}},
		{Name: "prefix", Match: Match{Service: "svc", Methods: []string{"/svc/List*", "/svc/Get"}, Resource: "db/*"}},
		{Name: "star", Match: Match{Service: "svc", Methods: []string{"/svc/*"}, Resource: "*"}},
		{Name: "any", Match: Match{Service: "other", Methods: []string{"/other/*"}}},
	}}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name     string
		service  string
		methods  []string
		resource string
		want     string // rule name; "" for ErrNoRule
	}{
		{"exact", "svc", []string{"/svc/Get"}, "db/main", "exact"},
		{"first rule wins", "svc", []string{"/svc/Get"}, "db/main", "exact"},
		{"resource prefix", "svc", []string{"/svc/Get"}, "db/replica", "prefix"},
		{"method prefix", "svc", []string{"/svc/ListKeys", "/svc/Get"}, "db/x", "prefix"},
		{"every method must be covered", "svc", []string{"/svc/ListKeys", "/svc/Put"}, "db/x", "star"},
		{"requested prefix within rule prefix", "svc", []string{"/svc/List*"}, "db/x", "prefix"},
		{"requested wildcard not within exact method", "svc", []string{"/svc/*"}, "db/main", "star"},
		{"requested resource prefix within rule prefix", "svc", []string{"/svc/Get"}, "db/*", "prefix"},
		{"empty resource only under any-resource rules", "svc", []string{"/svc/Get"}, "", "star"},
		{"rule without resource covers any", "other", []string{"/other/Do"}, "anything", "any"},
		{"rule without resource covers empty", "other", []string{"/other/Do"}, "", "any"},
		{"service is exact", "sv", []string{"/svc/Get"}, "db/main", ""},
		{"service is not a prefix", "svc2", []string{"/svc/Get"}, "", ""},
		{"method of another service", "other", []string{"/svc/Get"}, "", ""},
		{"no methods", "svc", nil, "db/main", ""},
		{"star only at the end", "svc", []string{"/svc/Get"}, "db", "star"},
	}
	p := testPolicy()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := p.Match(tt.service, tt.methods, tt.resource)
			if tt.want == "" {
				require.ErrorIs(t, err, ErrNoRule)
				assert.Nil(t, r)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Name)
		})
	}
}

// TestMatchResourceStrictRule pins that a rule for some resources never
// grants a request for any resource.
func TestMatchResourceStrictRule(t *testing.T) {
	p := &Policy{Rules: []Rule{{Name: "db", Match: Match{Service: "svc", Methods: []string{"/svc/*"}, Resource: "db/*"}}}}
	_, err := p.Match("svc", []string{"/svc/Get"}, "")
	require.ErrorIs(t, err, ErrNoRule)
	assert.Contains(t, err.Error(), `service "svc"`)
}

func TestMatchReturnsRuleInPolicy(t *testing.T) {
	p := testPolicy()
	r, err := p.Match("other", []string{"/other/X"}, "")
	require.NoError(t, err)
	assert.Same(t, &p.Rules[3], r)
}

func TestCanApprove(t *testing.T) {
	r := &Rule{Approvers: []string{"security", "sre"}}
	tests := []struct {
		groups []string
		want   bool
	}{
		{[]string{"security"}, true},
		{[]string{"dev", "sre"}, true},
		{[]string{"dev"}, false},
		{nil, false},
		{[]string{"*"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, r.CanApprove(tt.groups), "groups %q", tt.groups)
	}
}

func TestAutoApproves(t *testing.T) {
	r := &Rule{
		Match: Match{Service: "svc", Methods: []string{"/svc/Get", "/svc/List*"}},
		AutoApprove: []AutoApprove{
			{Groups: []string{"oncall"}, Methods: []string{"/svc/Get"}, After: time.Second},
			{Groups: []string{"sre"}},
			{Groups: []string{AnyGroup}, Methods: []string{"/svc/ListPublic"}, After: 50 * time.Millisecond},
		},
	}
	tests := []struct {
		name    string
		groups  []string
		methods []string
		want    int // index of the entry, -1 for none
	}{
		{"group and method", []string{"dev", "oncall"}, []string{"/svc/Get"}, 0},
		{"method outside the entry", []string{"oncall"}, []string{"/svc/Get", "/svc/ListAll"}, -1},
		{"entry without methods takes the rule's", []string{"sre"}, []string{"/svc/Get", "/svc/ListAll"}, 1},
		{"rule's methods still bound it", []string{"sre"}, []string{"/svc/Delete"}, -1},
		{"anyone", []string{"dev"}, []string{"/svc/ListPublic"}, 2},
		{"anyone, no groups", nil, []string{"/svc/ListPublic"}, 2},
		{"not in a group", []string{"dev"}, []string{"/svc/Get"}, -1},
		{"no methods", []string{"oncall"}, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := r.AutoApproves(tt.groups, tt.methods)
			if tt.want < 0 {
				assert.False(t, ok)
				assert.Zero(t, a.After)
				return
			}
			require.True(t, ok)
			assert.Equal(t, r.AutoApprove[tt.want], a)
		})
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	r, err := p.Match("demo.v1.Vault", []string{"/demo.v1.Vault/GetSecret"}, "")
	require.NoError(t, err)
	assert.Equal(t, 1, r.Approvals)
	assert.Equal(t, time.Hour, r.MaxDuration)
	assert.Equal(t, 15*time.Minute, r.PendingTimeout)
	assert.True(t, r.CanApprove([]string{"security"}))
	assert.False(t, r.CanApprove([]string{"dev"}))
	_, auto := r.AutoApproves([]string{"security"}, []string{"/demo.v1.Vault/GetSecret"})
	assert.False(t, auto, "no auto-approval by default")

	r.AutoApprove = append(r.AutoApprove, AutoApprove{Groups: []string{AnyGroup}})
	assert.Empty(t, Default().Rules[0].AutoApprove, "each call returns a fresh policy")
}
