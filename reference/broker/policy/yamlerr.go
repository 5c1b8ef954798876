package policy

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v4"
)

// yamlError turns an error from the yaml package into an *Error at the
// position it carries (at, or 1:1, when it carries none), and rewrites the
// messages a policy author meets into this file's words: the yaml package
// speaks of Go types ("field x not found in type policy.docRule").
func (p *parser) yamlError(err error, at *yaml.Node) error {
	e := p.LoadError(err, at)
	e.Msg = rewriteYAMLMessage(e.Msg)
	return e
}

var (
	// unknownField is the yaml package's message for a key KnownFields rejects.
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S*?(\w+)$`)
	// cannotConstruct is its message for a value of the wrong kind.
	cannotConstruct = regexp.MustCompile("^cannot construct (!!\\w+) `(.*)` into (\\S+)$")
	// knownKeys lists, by doc type name, the keys allowed there.
	knownKeys = map[string]string{
		"docPolicy":      "rules",
		"docRule":        "name, match, approvers, approvals, max_duration, pending_timeout, auto_approve",
		"docMatch":       "service, methods, resource",
		"docAutoApprove": "groups, methods, after",
	}
)

// rewriteYAMLMessage words a yaml message for a policy author.
func rewriteYAMLMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		if known, ok := knownKeys[m[2]]; ok {
			return fmt.Sprintf("unknown key %q (known keys here: %s)", m[1], known)
		}
		return fmt.Sprintf("unknown key %q", m[1])
	}
	if m := cannotConstruct.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("expected %s, got %s %q", goKind(m[3]), m[1], m[2])
	}
	switch msg {
	case "no documents in stream":
		return "empty file: no rules"
	case "expected single document, found multiple":
		return "more than one YAML document: a policy file holds one"
	}
	return msg
}

// goKind names what a Go type the yaml package could not fill expects.
func goKind(typ string) string {
	switch {
	case strings.HasPrefix(typ, "[]"):
		return "a list"
	case strings.HasPrefix(typ, "map["), strings.Contains(typ, ".doc"):
		return "a mapping"
	default:
		return "a " + typ
	}
}
