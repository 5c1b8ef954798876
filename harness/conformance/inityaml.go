package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/token"
)

// yaml writes the config with what init inferred and what is left to do
// as comments, and the methods no permission matched as a commented-out skeleton.
func (b *initBuilder) yaml() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(b.f); err != nil {
		return nil, fmt.Errorf("writing the config: %w", err)
	}
	var head strings.Builder
	head.WriteString("Written by `jitbench conformance init` from the target's services and sample tokens;\n")
	head.WriteString("docs/conformance.md describes every key. Run: jitbench conformance --config FILE\n\nInferred:\n")
	for _, l := range b.res.Inferred {
		head.WriteString("  - " + l + "\n")
	}
	if len(b.res.Todo) > 0 {
		head.WriteString("\nTo check or supply:\n")
		for _, l := range b.res.Todo {
			head.WriteString("  - " + l + "\n")
		}
	}
	doc.HeadComment = strings.TrimRight(head.String(), "\n")
	if k := mappingKey(&doc, "tokens", "grant", "permissions"); k != nil {
		k.HeadComment = b.permissionSkeleton()
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("writing the config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing the config: %w", err)
	}
	return out.Bytes(), nil
}

// permissionSkeleton lists the methods of the called method's service that
// no sample value matched, as lines to fill in.
func (b *initBuilder) permissionSkeleton() string {
	mapped := b.f.Tokens.Grant.Permissions
	service := b.f.Method[:strings.LastIndexByte(b.f.Method, '/')]
	var lines []string
	for _, m := range b.surface.methods {
		name := methodName(m)
		if _, ok := mapped[name]; !ok && strings.HasPrefix(name, service+"/") {
			lines = append(lines, fmt.Sprintf("%q: \"\"  # which permission grants it?", name))
		}
	}
	text := "matched by name from the sample's scope values: check them"
	if len(lines) > 0 {
		text += "; the other methods, to fill in:\n" + strings.Join(lines, "\n")
	}
	return text
}

// mappingKey is the key node at path in doc's mappings, or nil.
func mappingKey(doc *yaml.Node, path ...string) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	var key *yaml.Node
	for _, step := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		i := slices.IndexFunc(n.Content, func(c *yaml.Node) bool { return c.Value == step })
		if i < 0 || i%2 != 0 || i+1 >= len(n.Content) {
			return nil
		}
		key, n = n.Content[i], n.Content[i+1]
	}
	return key
}

// sampleVerifies reports whether one of keys verifies the sample's signature.
func sampleVerifies(s *Sample, keys *token.KeySet) bool {
	jws, err := jose.ParseSigned(s.Token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(s.Alg)})
	if err != nil {
		return false
	}
	for _, k := range keys.Keys() {
		if _, err := jws.Verify(k.Public); err == nil {
			return true
		}
	}
	return false
}
