package proxy

import "strings"

// methodMatcher is a fault's scope: the method patterns it applies to;
// empty means every call.
type methodMatcher []string

// checkPattern refuses a pattern that could never match a method or path.
func checkPattern(p string) string {
	switch {
	case p == "":
		return "an empty pattern matches nothing: leave methods out to match every call"
	case p[0] != '/' && p[0] != '*':
		return "a pattern starts with / (a full method such as /pkg.Service/Method, or an HTTP path) or *"
	case strings.ContainsAny(p, " \t\r\n"):
		return "a pattern has no spaces"
	}
	return ""
}

func (m methodMatcher) match(method string) bool {
	if len(m) == 0 {
		return true
	}
	for _, p := range m {
		if glob(p, method) {
			return true
		}
	}
	return false
}

// glob reports whether s matches pattern p, where * stands for any run of
// characters (slashes included) and every other character for itself:
// "/pkg.S/*" is every method of pkg.S, "/pkg.*" every method of package pkg.
// It runs in O(len(p)·len(s)) at worst, whatever the input.
func glob(p, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(p) && p[px] == '*':
			starP, starS = px, sx
			px++
		case px < len(p) && p[px] == s[sx]:
			px++
			sx++
		case starP >= 0:
			// Let the last star take one more character and retry.
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}
