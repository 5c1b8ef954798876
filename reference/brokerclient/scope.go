package brokerclient

import (
	"slices"
	"strings"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// scoped is a requested scope with the key grants, pending requests and
// in-flight requests are filed under. Methods that map to the same scope
// (ScopeFor returning a wildcard, say) share one grant.
type scoped struct {
	scope *jitv1.Scope
	key   string
}

// scopeOf returns the scope requested for method, with the source's service
// filled in when ScopeFor left it empty.
func (g *GrantSource) scopeOf(method string) scoped {
	s := g.opts.ScopeFor(method)
	if s == nil {
		s = &jitv1.Scope{Methods: []string{method}}
	}
	if s.GetService() == "" {
		s = &jitv1.Scope{Service: g.opts.Service, Methods: s.GetMethods(), Resource: s.GetResource()}
	}
	return scoped{scope: s, key: scopeKey(s)}
}

// scopeKey ignores method order; gRPC names never hold the control characters used as separators.
func scopeKey(s *jitv1.Scope) string {
	methods := slices.Clone(s.GetMethods())
	slices.Sort(methods)
	return s.GetService() + "\x00" + strings.Join(methods, "\x01") + "\x00" + s.GetResource()
}
