package conformance

import (
	"slices"
	"strings"
	"unicode"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// When a grant's scope holds permissions ("files:read", "cart.read")
// rather than method names, init matches them to methods by their words:
// a permission naming the method ("read" for Read) first, then one whose
// verb is of the same kind ("read" for Get, List or Watch). The match is a
// guess the user is told to check; a method nothing matched is left out.

// verbKinds sorts verbs into reading and writing.
var verbKinds = func() map[string]string {
	out := map[string]string{}
	for kind, verbs := range map[string][]string{
		"read": {"read", "get", "list", "watch", "fetch", "describe", "search", "query", "view", "find", "lookup",
			"stream", "tail", "show", "count", "export", "download", "subscribe", "readonly", "reader", "viewer"},
		"write": {"write", "create", "add", "update", "delete", "remove", "set", "put", "send", "cancel", "post",
			"patch", "insert", "upload", "edit", "modify", "approve", "revoke", "import", "writer", "editor"},
	} {
		for _, v := range verbs {
			out[v] = kind
		}
	}
	return out
}()

// words splits s into lower-case words at punctuation and at case changes ("AddItem" → add, item).
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range s {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	flush()
	return out
}

// permissionScore says how well permission perm names method m: 0 not at
// all, 2 by the kind of its verb, 3 by its name; one more when it also names m's service.
func permissionScore(m protoreflect.MethodDescriptor, perm string) int {
	pw := words(perm)
	mw := words(string(m.Name()))
	if len(pw) == 0 || len(mw) == 0 {
		return 0
	}
	score := 0
	switch name := strings.Join(mw, ""); {
	case slices.Contains(pw, name):
		score = 3
	case verbKinds[mw[0]] != "" && slices.ContainsFunc(pw, func(w string) bool { return verbKinds[w] == verbKinds[mw[0]] }):
		score = 2
	default:
		return 0
	}
	if svc := words(string(m.Parent().Name())); len(svc) > 0 && slices.Contains(pw, strings.Join(svc, "")) {
		score++
	}
	return score
}

// matchPermissions maps methods to the permission of perms that names each
// best; the methods come back best matched first (ties in declaration order).
func matchPermissions(perms []string, methods []protoreflect.MethodDescriptor) (map[string]string, []protoreflect.MethodDescriptor) {
	out := map[string]string{}
	scores := map[protoreflect.MethodDescriptor]int{}
	var matched []protoreflect.MethodDescriptor
	for _, m := range methods {
		best, bestPerm := 0, ""
		for _, p := range perms {
			if s := permissionScore(m, p); s > best {
				best, bestPerm = s, p
			}
		}
		if best > 0 {
			out[methodName(m)] = bestPerm
			scores[m] = best
			matched = append(matched, m)
		}
	}
	slices.SortStableFunc(matched, func(x, y protoreflect.MethodDescriptor) int { return scores[y] - scores[x] })
	return out, matched
}
