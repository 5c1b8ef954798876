package scenarios

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// decoder reads a scenario's node tree. It reads every value itself rather
// than through the yaml package's struct decoding, so that each refusal
// names the exact node, in the words of the file rather than of Go types.
type decoder struct {
	yamlfile.Reader
	// lines of the file, to place errors inside a block scalar's text.
	lines []string
	// validateParams is LoadOptions.ValidateFault.
	validateParams func(kind string, params map[string]any) error
	// diagnoses and measurements are LoadOptions.Diagnoses and LoadOptions.Measurements.
	diagnoses, measurements []string
}

// scenario reads the root mapping into a Scenario, checking every value as
// it goes; cross-field checks and defaults come after (see Parse).
func (d *decoder) scenario(root *yaml.Node) (*Scenario, error) {
	if root.Kind != yaml.MappingNode {
		return nil, d.At(root, "a scenario file is a mapping with name, summary and expect, got %s", yamlfile.Describe(root))
	}
	s := &Scenario{File: d.File}
	var seen struct{ name, summary, expect bool }
	err := d.Mapping(root, "the scenario", []yamlfile.Field{
		{Name: "name", Read: func(_, v *yaml.Node) (err error) {
			seen.name = !yamlfile.IsNull(v)
			if s.Name, err = d.Str(v, "name"); err == nil && seen.name && !kebab.MatchString(s.Name) {
				err = d.At(v, "name %q must be kebab-case: lower-case letters and digits joined by single dashes", s.Name)
			}
			return err
		}},
		{Name: "summary", Read: func(_, v *yaml.Node) (err error) {
			s.Summary, err = d.Str(v, "summary")
			seen.summary = strings.TrimSpace(s.Summary) != ""
			return err
		}},
		{Name: "tags", Read: func(_, v *yaml.Node) (err error) { s.Tags, err = d.tags(v); return err }},
		{Name: "cause", Read: func(_, v *yaml.Node) (err error) {
			if s.Cause, err = d.Str(v, "cause"); err == nil && s.Cause != "" && !slices.Contains(Causes, s.Cause) {
				err = d.At(v, "unknown cause %q%s; causes: %s", s.Cause, yamlfile.DidYouMean(s.Cause, Causes), strings.Join(Causes, ", "))
			}
			return err
		}},
		{Name: "topology", Read: func(_, v *yaml.Node) (err error) { s.Topology, err = d.enum(v, "topology", Topologies); return err }},
		{Name: "seed", Read: func(_, v *yaml.Node) (err error) { s.Seed, err = d.Integer(v, "seed"); return err }},
		{Name: "service", Read: func(_, v *yaml.Node) error { return d.service(v, &s.Service) }},
		{Name: "broker", Read: func(_, v *yaml.Node) error { return d.broker(v, &s.Broker) }},
		{Name: "client", Read: func(_, v *yaml.Node) error { return d.client(v, &s.Client) }},
		{Name: "faults", Read: func(_, v *yaml.Node) (err error) { s.Faults, err = d.faults(v); return err }},
		{Name: "load", Read: func(_, v *yaml.Node) error { return d.load(v, &s.Load) }},
		{Name: "measure", Read: func(_, v *yaml.Node) (err error) { s.Measure, err = d.measure(v); return err }},
		{Name: "expect", Read: func(_, v *yaml.Node) (err error) {
			s.Expect, err = d.expect(v)
			seen.expect = len(s.Expect.Codes)+len(s.Expect.Reasons)+len(s.Expect.Latency)+len(s.Expect.Diagnoses) > 0 ||
				s.Expect.Measurements != ""
			return err
		}},
		{Name: "explain", Read: func(_, v *yaml.Node) (err error) {
			if s.Explain, err = d.Str(v, "explain"); err == nil {
				err = d.explain(v, s.Explain)
			}
			return err
		}},
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !seen.name:
		return nil, d.At(root, "name is missing: give the scenario a kebab-case name, its file name without .yaml")
	case !seen.summary:
		return nil, d.At(root, "summary is missing: say in one sentence what goes wrong")
	case !seen.expect:
		return nil, d.At(root, "expect is missing: say which share of calls must end with which codes or reasons, or a latency bound")
	}
	return s, nil
}

// measure reads the list of measurement names, each one the harness knows
// (LoadOptions.Measurements; without the list, any kebab-case name).
func (d *decoder) measure(n *yaml.Node) ([]string, error) {
	names, err := d.StrList(n, "measure")
	if err != nil {
		return nil, err
	}
	for i, name := range names {
		item := n.Content[i]
		known := kebab.MatchString(name)
		if d.measurements != nil {
			known = slices.Contains(d.measurements, name)
		}
		if !known {
			return nil, d.At(item, "unknown measurement %q%s; measurements: %s", name, yamlfile.DidYouMean(name, d.measurements), strings.Join(d.measurements, ", "))
		}
		if slices.Contains(names[:i], name) {
			return nil, d.At(item, "measurement %q is listed twice", name)
		}
	}
	return names, nil
}

func (d *decoder) tags(n *yaml.Node) ([]string, error) {
	tags, err := d.StrList(n, "tags")
	if err != nil {
		return nil, err
	}
	for i, t := range tags {
		item := n.Content[i]
		if !kebab.MatchString(t) {
			return nil, d.At(item, "tag %q must be kebab-case, such as permission-denied", t)
		}
		if slices.Contains(tags[:i], t) {
			return nil, d.At(item, "tag %q appears twice", t)
		}
	}
	return tags, nil
}

// enum reads a value that must be one of allowed (or absent).
func (d *decoder) enum(n *yaml.Node, what string, allowed []string) (string, error) {
	v, err := d.Str(n, what)
	if err != nil || v == "" || slices.Contains(allowed, v) {
		return v, err
	}
	return "", d.At(n, "unknown %s %q%s: want %s", what, v, yamlfile.DidYouMean(v, allowed), oneOf(allowed))
}

// algorithm reads a signing algorithm name.
func (d *decoder) algorithm(n *yaml.Node, what string) (string, error) {
	v, err := d.Str(n, what)
	if err != nil || v == "" || isAlgorithm(v) {
		return v, err
	}
	return "", d.At(n, "unknown algorithm %q in %s%s: want EdDSA, ES256, RS256 or HS256",
		v, what, yamlfile.DidYouMean(v, []string{"EdDSA", "ES256", "RS256", "HS256"}))
}

// methods reads a list of method patterns ("/demo.v1.Vault/Read", "/demo.v1.Vault/*").
func (d *decoder) methods(n *yaml.Node, what string) ([]string, error) {
	list, err := d.StrList(n, what)
	if err != nil {
		return nil, err
	}
	for i, m := range list {
		if !methodPattern.MatchString(m) {
			return nil, d.At(n.Content[i], "%s: %q is not a method such as /demo.v1.Vault/Read or /demo.v1.Vault/*", what, m)
		}
	}
	return list, nil
}

func (d *decoder) service(n *yaml.Node, s *Service) error {
	return d.Mapping(n, "service", []yamlfile.Field{
		{Name: "leeway", Read: func(_, v *yaml.Node) (err error) { s.Leeway, err = d.Duration(v, "service.leeway"); return err }},
		{Name: "algorithms", Read: func(_, v *yaml.Node) error {
			algs, err := d.StrList(v, "service.algorithms")
			for i := 0; err == nil && i < len(algs); i++ {
				_, err = d.algorithm(v.Content[i], "service.algorithms")
			}
			s.Algorithms = algs
			return err
		}},
		{Name: "max_grant_lifetime", Read: func(_, v *yaml.Node) (err error) {
			s.MaxGrantLifetime, err = d.Duration(v, "service.max_grant_lifetime")
			return err
		}},
		{Name: "revocation_mode", Read: func(_, v *yaml.Node) (err error) {
			s.RevocationMode, err = d.enum(v, "service.revocation_mode", RevocationModes)
			return err
		}},
		{Name: "max_staleness", Read: func(_, v *yaml.Node) (err error) {
			s.MaxStaleness, err = d.Duration(v, "service.max_staleness")
			return err
		}},
	})
}

// minGrantTTL is the broker's shortest grant: it refuses to issue shorter ones.
const minGrantTTL = time.Second

func (d *decoder) broker(n *yaml.Node, b *Broker) error {
	return d.Mapping(n, "broker", []yamlfile.Field{
		{Name: "approval", Read: func(_, v *yaml.Node) (err error) {
			b.Approval, err = d.enum(v, "broker.approval", ApprovalModes)
			return err
		}},
		{Name: "auto_approve", Read: func(_, v *yaml.Node) (err error) {
			b.AutoApprove, err = d.Duration(v, "broker.auto_approve")
			return err
		}},
		{Name: "algorithm", Read: func(_, v *yaml.Node) (err error) { b.Algorithm, err = d.algorithm(v, "broker.algorithm"); return err }},
		{Name: "grant_ttl", Read: func(_, v *yaml.Node) (err error) {
			b.GrantTTL, err = d.Duration(v, "broker.grant_ttl")
			if err == nil && b.GrantTTL > 0 && b.GrantTTL < minGrantTTL {
				err = d.At(v, "broker.grant_ttl %s is shorter than the broker's minimum grant of %s", b.GrantTTL, minGrantTTL)
			}
			return err
		}},
		{Name: "policy_methods", Read: func(_, v *yaml.Node) (err error) {
			b.PolicyMethods, err = d.methods(v, "broker.policy_methods")
			return err
		}},
	})
}

func (d *decoder) client(n *yaml.Node, c *Client) error {
	return d.Mapping(n, "client", []yamlfile.Field{
		{Name: "subject", Read: func(_, v *yaml.Node) (err error) { c.Subject, err = d.Str(v, "client.subject"); return err }},
		{Name: "method", Read: func(_, v *yaml.Node) (err error) {
			if c.Method, err = d.Str(v, "client.method"); err == nil && c.Method != "" && !fullMethod.MatchString(c.Method) {
				err = d.At(v, "client.method %q is not a full method name such as /demo.v1.Vault/Read", c.Method)
			}
			return err
		}},
		{Name: "resource", Read: func(_, v *yaml.Node) (err error) { c.Resource, err = d.Str(v, "client.resource"); return err }},
		{Name: "deadline", Read: func(_, v *yaml.Node) (err error) { c.Deadline, err = d.Duration(v, "client.deadline"); return err }},
		{Name: "grants", Read: func(_, v *yaml.Node) (err error) { c.Grants, err = d.enum(v, "client.grants", GrantModes); return err }},
		{Name: "grant_scope", Read: func(_, v *yaml.Node) (err error) { c.GrantScope, err = d.methods(v, "client.grant_scope"); return err }},
		{Name: "grant_resource", Read: func(_, v *yaml.Node) (err error) {
			c.GrantResource, err = d.Str(v, "client.grant_resource")
			return err
		}},
	})
}

func (d *decoder) load(n *yaml.Node, l *LoadProfile) error {
	count := func(v *yaml.Node, what string) (int, error) {
		x, err := d.Integer(v, what)
		if err == nil && (x < 0 || x > maxCalls) {
			err = d.At(v, "%s must be between 1 and %d, got %d", what, maxCalls, x)
		}
		return int(x), err
	}
	// The closed-loop keys' nodes, to point at the one that contradicts a rate.
	var closedLoop []*yaml.Node
	err := d.Mapping(n, "load", []yamlfile.Field{
		{Name: "calls", Read: func(_, v *yaml.Node) (err error) { l.Calls, err = count(v, "load.calls"); return err }},
		{Name: "concurrency", Read: func(k, v *yaml.Node) (err error) {
			closedLoop = append(closedLoop, k)
			l.Concurrency, err = count(v, "load.concurrency")
			return err
		}},
		{Name: "interval", Read: func(k, v *yaml.Node) (err error) {
			closedLoop = append(closedLoop, k)
			l.Interval, err = d.Duration(v, "load.interval")
			return err
		}},
		{Name: "rate", Read: func(_, v *yaml.Node) (err error) {
			if l.Rate, err = d.Str(v, "load.rate"); err == nil && !yamlfile.IsNull(v) && strings.TrimSpace(l.Rate) == "" {
				err = d.At(v, "load.rate is empty: write an arrival rate such as 50/s, or leave it out for a closed loop")
			}
			return err
		}},
		{Name: "duration", Read: func(_, v *yaml.Node) (err error) {
			l.Duration, err = d.Duration(v, "load.duration")
			if err == nil && l.Duration > maxLoadDuration {
				err = d.At(v, "load.duration %s is longer than %s: a scenario is a reproduction, not a soak test (use jitbench load)", l.Duration, maxLoadDuration)
			}
			return err
		}},
	})
	if err == nil && l.Rate != "" && len(closedLoop) > 0 {
		k := closedLoop[0]
		err = d.At(k, "load.%s paces a closed loop, but load.rate makes this an open loop: give one or the other", k.Value)
	}
	return err
}

// maxCalls bounds calls and concurrency: a scenario is a reproduction, and a
// typo such as 10000000 should be refused, not run for an hour.
const maxCalls = 1_000_000

// maxLoadDuration bounds load.duration, for the same reason.
const maxLoadDuration = 10 * time.Minute
