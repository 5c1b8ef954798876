package policy

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/filecap"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

// Load reads and parses the policy file at path; see Parse.
func Load(path string) (*Policy, error) {
	data, err := filecap.ReadFile(path, filecap.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a policy from data strictly, filling the keys a rule leaves
// out with DefaultApprovals, DefaultMaxDuration and DefaultPendingTimeout,
// and refusing an unknown key, a bad or non-positive duration, approvals
// below 1, a rule nobody can approve, a rule without match.service or
// match.methods, or a duplicate rule name with an *Error (wrapping
// ErrInvalid) at name:line:column of the offending node.
func Parse(name string, data []byte) (*Policy, error) {
	p := &parser{yamlfile.Reader{File: name, Err: ErrInvalid}}
	var root yaml.Node
	if err := yaml.Load(data, &root); err != nil {
		return nil, p.yamlError(err, &root)
	}
	return p.policy(&root)
}

// The doc types mirror the file. Every value is a yaml.Node, so that a
// check can point at it; loading a node into them with KnownFields catches
// unknown and repeated keys, and the parser then reads each value itself.
type (
	docPolicy struct {
		Rules yaml.Node `yaml:"rules"`
	}
	docRule struct {
		Name           yaml.Node `yaml:"name"`
		Match          yaml.Node `yaml:"match"`
		Approvers      yaml.Node `yaml:"approvers"`
		Approvals      yaml.Node `yaml:"approvals"`
		MaxDuration    yaml.Node `yaml:"max_duration"`
		PendingTimeout yaml.Node `yaml:"pending_timeout"`
		AutoApprove    yaml.Node `yaml:"auto_approve"`
	}
	docMatch struct {
		Service  yaml.Node `yaml:"service"`
		Methods  yaml.Node `yaml:"methods"`
		Resource yaml.Node `yaml:"resource"`
	}
	docAutoApprove struct {
		Groups  yaml.Node `yaml:"groups"`
		Methods yaml.Node `yaml:"methods"`
		After   yaml.Node `yaml:"after"`
	}
)

// parser turns a policy file's node tree into a Policy. Its value readers
// are its own rather than yamlfile's: a policy may share blocks between
// rules with anchors and merge keys, which yamlfile's Load refuses, so they
// follow aliases, and they word values for policy authors.
type parser struct {
	yamlfile.Reader
}

// policy reads the document node.
func (p *parser) policy(root *yaml.Node) (*Policy, error) {
	var doc docPolicy
	if err := p.load(root, &doc); err != nil {
		return nil, err
	}
	if absent(&doc.Rules) {
		return nil, p.At(root, "no rules: every request would be refused")
	}
	rules, err := p.sequence(&doc.Rules, "rules")
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		return nil, p.At(&doc.Rules, "no rules: every request would be refused")
	}
	pol := &Policy{Rules: make([]Rule, 0, len(rules))}
	firstLine := make(map[string]int) // rule name → line of its first definition
	for i, n := range rules {
		r, nameNode, err := p.rule(n, i)
		if err != nil {
			return nil, err
		}
		if line, dup := firstLine[r.Name]; dup {
			return nil, p.At(nameNode, "duplicate rule name %q (first defined at line %d)", r.Name, line)
		}
		firstLine[r.Name] = nameNode.Line
		pol.Rules = append(pol.Rules, r)
	}
	return pol, nil
}

// rule reads rules[i], prefixing any error with the rule's name (or
// number); it also returns the name's node, for duplicate checks.
func (p *parser) rule(n *yaml.Node, i int) (Rule, *yaml.Node, error) {
	r, nameNode, err := p.ruleBody(n, i)
	if e, ok := err.(*Error); ok {
		label := fmt.Sprintf("rule %d", i+1)
		if name := lookup(n, "name"); name != nil && name.Kind == yaml.ScalarNode && name.Value != "" {
			label = fmt.Sprintf("rule %q", name.Value)
		}
		e.Msg = label + ": " + e.Msg
	}
	return r, nameNode, err
}

// ruleBody reads one rule for rule.
func (p *parser) ruleBody(n *yaml.Node, i int) (Rule, *yaml.Node, error) {
	var doc docRule
	if err := p.load(n, &doc); err != nil {
		return Rule{}, nil, err
	}
	if absent(&doc.Name) {
		return Rule{}, nil, p.At(n, "name is required")
	}
	name, err := p.scalar(&doc.Name, "name")
	if err != nil {
		return Rule{}, nil, err
	}
	if name == "" {
		return Rule{}, nil, p.At(&doc.Name, "name is empty")
	}
	r := Rule{
		Name:           name,
		Approvals:      DefaultApprovals,
		MaxDuration:    DefaultMaxDuration,
		PendingTimeout: DefaultPendingTimeout,
	}
	if absent(&doc.Match) {
		return Rule{}, nil, p.At(n, "match is required")
	}
	if r.Match, err = p.match(&doc.Match); err != nil {
		return Rule{}, nil, err
	}
	if !absent(&doc.Approvers) {
		if r.Approvers, _, err = p.strings(&doc.Approvers, "approvers"); err != nil {
			return Rule{}, nil, err
		}
	}
	if !absent(&doc.Approvals) {
		if r.Approvals, err = p.approvals(&doc.Approvals); err != nil {
			return Rule{}, nil, err
		}
	}
	if !absent(&doc.MaxDuration) {
		if r.MaxDuration, err = p.duration(&doc.MaxDuration, "max_duration", false); err != nil {
			return Rule{}, nil, err
		}
	}
	if !absent(&doc.PendingTimeout) {
		if r.PendingTimeout, err = p.duration(&doc.PendingTimeout, "pending_timeout", false); err != nil {
			return Rule{}, nil, err
		}
	}
	if !absent(&doc.AutoApprove) {
		entries, err := p.sequence(&doc.AutoApprove, "auto_approve")
		if err != nil {
			return Rule{}, nil, err
		}
		for _, e := range entries {
			a, err := p.autoApprove(e)
			if err != nil {
				return Rule{}, nil, err
			}
			r.AutoApprove = append(r.AutoApprove, a)
		}
	}
	if len(r.Approvers) == 0 && len(r.AutoApprove) == 0 {
		at := n
		if !absent(&doc.Approvers) {
			at = &doc.Approvers
		}
		return Rule{}, nil, p.At(at, "no approvers and no auto_approve: no request could ever be approved")
	}
	return r, &doc.Name, nil
}

// match reads a rule's match.
func (p *parser) match(n *yaml.Node) (Match, error) {
	var doc docMatch
	if err := p.load(n, &doc); err != nil {
		return Match{}, err
	}
	var m Match
	var err error
	if absent(&doc.Service) {
		return Match{}, p.At(n, "match.service is required")
	}
	if m.Service, err = p.scalar(&doc.Service, "match.service"); err != nil {
		return Match{}, err
	}
	if m.Service == "" {
		return Match{}, p.At(&doc.Service, "match.service is empty")
	}
	if absent(&doc.Methods) {
		return Match{}, p.At(n, "match.methods is required")
	}
	if m.Methods, err = p.methods(&doc.Methods, "match.methods"); err != nil {
		return Match{}, err
	}
	if len(m.Methods) == 0 {
		return Match{}, p.At(&doc.Methods, "match.methods is empty")
	}
	if !absent(&doc.Resource) {
		if m.Resource, err = p.scalar(&doc.Resource, "match.resource"); err != nil {
			return Match{}, err
		}
		if err := p.pattern(&doc.Resource, m.Resource); err != nil {
			return Match{}, err
		}
	}
	return m, nil
}

// autoApprove reads one auto_approve entry.
func (p *parser) autoApprove(n *yaml.Node) (AutoApprove, error) {
	var doc docAutoApprove
	if err := p.load(n, &doc); err != nil {
		return AutoApprove{}, err
	}
	var a AutoApprove
	var err error
	if absent(&doc.Groups) {
		return AutoApprove{}, p.At(n, "auto_approve.groups is required (%q for everyone)", AnyGroup)
	}
	if a.Groups, _, err = p.strings(&doc.Groups, "auto_approve.groups"); err != nil {
		return AutoApprove{}, err
	}
	if len(a.Groups) == 0 {
		return AutoApprove{}, p.At(&doc.Groups, "auto_approve.groups is empty (%q for everyone)", AnyGroup)
	}
	if !absent(&doc.Methods) {
		if a.Methods, err = p.methods(&doc.Methods, "auto_approve.methods"); err != nil {
			return AutoApprove{}, err
		}
	}
	if !absent(&doc.After) {
		if a.After, err = p.duration(&doc.After, "auto_approve.after", true); err != nil {
			return AutoApprove{}, err
		}
	}
	return a, nil
}

// methods reads a list of method patterns.
func (p *parser) methods(n *yaml.Node, what string) ([]string, error) {
	methods, nodes, err := p.strings(n, what)
	if err != nil {
		return nil, err
	}
	for i, m := range methods {
		if !strings.HasPrefix(m, "/") {
			return nil, p.At(nodes[i], "%s: %q is not a full method name such as \"/demo.v1.Vault/Get\" or a prefix such as \"/demo.v1.Vault/*\"", what, m)
		}
		if err := p.pattern(nodes[i], m); err != nil {
			return nil, err
		}
	}
	return methods, nil
}

// pattern checks that a pattern's only * is its last character.
func (p *parser) pattern(n *yaml.Node, s string) error {
	if i := strings.IndexByte(s, '*'); i >= 0 && i != len(s)-1 {
		return p.At(n, "%q: * may only end a pattern", s)
	}
	return nil
}

// approvals reads a rule's approvals.
func (p *parser) approvals(n *yaml.Node) (int, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, p.At(n, "approvals must be a whole number, got %s", describe(n))
	}
	var v int
	if err := n.Load(&v); err != nil {
		return 0, p.At(n, "approvals: %q is out of range", n.Value)
	}
	if v < 1 {
		return 0, p.At(n, "approvals must be at least 1, got %d", v)
	}
	return v, nil
}

// duration reads a Go duration string; zero is allowed only where allowZero.
func (p *parser) duration(n *yaml.Node, what string, allowZero bool) (time.Duration, error) {
	s, err := p.scalar(n, what)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, p.At(n, "%s: bad duration %q: want a Go duration such as \"90s\", \"15m\" or \"1h30m\"", what, s)
	}
	switch {
	case d < 0:
		return 0, p.At(n, "%s must not be negative, got %s", what, s)
	case d == 0 && !allowZero:
		return 0, p.At(n, "%s must be positive, got %s", what, s)
	}
	return d, nil
}

// scalar reads a single value as a string.
func (p *parser) scalar(n *yaml.Node, what string) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return "", p.At(n, "%s must be a single value, got %s", what, describe(n))
	}
	return n.Value, nil
}

// strings reads a list of non-empty values, with their nodes.
func (p *parser) strings(n *yaml.Node, what string) ([]string, []*yaml.Node, error) {
	items, err := p.sequence(n, what)
	if err != nil {
		return nil, nil, err
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		s, err := p.scalar(item, what+" entry")
		if err != nil {
			return nil, nil, err
		}
		if s == "" {
			return nil, nil, p.At(item, "%s: empty entry", what)
		}
		out = append(out, s)
	}
	return out, items, nil
}

// sequence reads a list's items.
func (p *parser) sequence(n *yaml.Node, what string) ([]*yaml.Node, error) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, p.At(n, "%s must be a list, got %s", what, describe(n))
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = resolve(item)
	}
	return items, nil
}

// load fills doc, one of the doc types, from a mapping node.
func (p *parser) load(n *yaml.Node, doc any) error {
	target := resolve(n)
	if target.Kind == yaml.DocumentNode && len(target.Content) == 1 {
		target = resolve(target.Content[0])
	}
	if target.Kind != yaml.MappingNode {
		return p.At(target, "expected a mapping of keys to values, got %s", describe(target))
	}
	if err := target.Load(doc, yaml.WithKnownFields()); err != nil {
		return p.yamlError(err, target)
	}
	return nil
}

// absent reports whether a doc field's key was missing from the file.
func absent(n *yaml.Node) bool {
	return n.Kind == 0
}

// lookup returns the value of key in mapping n, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names a node's kind for a message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "nothing"
	}
}
