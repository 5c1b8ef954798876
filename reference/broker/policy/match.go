package policy

import (
	"fmt"
	"slices"
	"strings"
)

// AnyGroup in an auto_approve entry's groups matches every requester.
const AnyGroup = "*"

// Match returns the first rule whose service is service, whose methods
// cover every requested method (of which there must be at least one: a
// grant names what it allows) and whose resource covers resource, or an
// error wrapping ErrNoRule when none does.
func (p *Policy) Match(service string, methods []string, resource string) (*Rule, error) {
	if len(methods) > 0 {
		for i := range p.Rules {
			r := &p.Rules[i]
			if r.Match.covers(service, methods, resource) {
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: service %q, methods %q, resource %q", ErrNoRule, service, methods, resource)
}

// covers reports whether m selects the requested scope.
func (m *Match) covers(service string, methods []string, resource string) bool {
	if service != m.Service || !coversAll(m.Methods, methods) {
		return false
	}
	if m.Resource == "" || m.Resource == "*" {
		return true
	}
	// An empty requested resource asks for any resource, which only a
	// rule for any resource ("" or "*") may grant.
	return resource != "" && covers(m.Resource, resource)
}

// coversAll reports whether every requested pattern is covered by one of patterns.
func coversAll(patterns, requested []string) bool {
	for _, q := range requested {
		if !slices.ContainsFunc(patterns, func(p string) bool { return covers(p, q) }) {
			return false
		}
	}
	return true
}

// covers reports whether pattern p allows everything requested pattern q
// does. A trailing * matches a prefix, on either side: "/s/*" covers
// "/s/Get" and "/s/Get*", but "/s/Get" covers only "/s/Get" itself, never
// the wider "/s/*".
func covers(p, q string) bool {
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(q, prefix)
	}
	return p == q
}

// CanApprove reports whether a member of groups may review requests under
// r (the broker also refuses a review by the requester, whatever the groups).
func (r *Rule) CanApprove(groups []string) bool {
	return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(r.Approvers, g) })
}

// AutoApproves returns the first auto_approve entry of r that approves a
// requester in groups asking for methods: one of its groups (or AnyGroup)
// is the requester's, and its methods (or the rule's, when it lists none)
// cover every requested method.
func (r *Rule) AutoApproves(groups []string, methods []string) (AutoApprove, bool) {
	if len(methods) == 0 {
		return AutoApprove{}, false
	}
	for _, a := range r.AutoApprove {
		inGroup := slices.Contains(a.Groups, AnyGroup) ||
			slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(a.Groups, g) })
		allowed := a.Methods
		if len(allowed) == 0 {
			allowed = r.Match.Methods
		}
		if inGroup && coversAll(allowed, methods) {
			return a, true
		}
	}
	return AutoApprove{}, false
}
