package scenarios

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// scenario reads the root mapping into a Scenario, checking every value as
// it goes; cross-field checks and defaults come after (see Parse).
func (d *decoder) scenario(root *yaml.Node) (*Scenario, error) {
	if root.Kind != yaml.MappingNode {
		return nil, d.errorAt(root, "a scenario file is a mapping with name, summary and expect, got %s", describe(root))
	}
	s := &Scenario{File: d.file}
	var seen struct{ name, summary, expect bool }
	err := d.mapping(root, "the scenario", []field{
		{"name", func(_, v *yaml.Node) (err error) {
			seen.name = !isNull(v)
			if s.Name, err = d.str(v, "name"); err == nil && seen.name && !kebab.MatchString(s.Name) {
				err = d.errorAt(v, "name %q must be kebab-case: lower-case letters and digits joined by single dashes", s.Name)
			}
			return err
		}},
		{"summary", func(_, v *yaml.Node) (err error) {
			s.Summary, err = d.str(v, "summary")
			seen.summary = strings.TrimSpace(s.Summary) != ""
			return err
		}},
		{"tags", func(_, v *yaml.Node) (err error) { s.Tags, err = d.tags(v); return err }},
		{"cause", func(_, v *yaml.Node) (err error) {
			if s.Cause, err = d.str(v, "cause"); err == nil && s.Cause != "" && !slices.Contains(Causes, s.Cause) {
				err = d.errorAt(v, "unknown cause %q%s; causes: %s", s.Cause, didYouMean(s.Cause, Causes), strings.Join(Causes, ", "))
			}
			return err
		}},
		{"topology", func(_, v *yaml.Node) (err error) { s.Topology, err = d.enum(v, "topology", Topologies); return err }},
		{"seed", func(_, v *yaml.Node) (err error) { s.Seed, err = d.integer(v, "seed"); return err }},
		{"service", func(_, v *yaml.Node) error { return d.service(v, &s.Service) }},
		{"broker", func(_, v *yaml.Node) error { return d.broker(v, &s.Broker) }},
		{"client", func(_, v *yaml.Node) error { return d.client(v, &s.Client) }},
		{"faults", func(_, v *yaml.Node) (err error) { s.Faults, err = d.faults(v); return err }},
		{"load", func(_, v *yaml.Node) error { return d.load(v, &s.Load) }},
		{"expect", func(_, v *yaml.Node) (err error) {
			s.Expect, err = d.expect(v)
			seen.expect = len(s.Expect.Codes)+len(s.Expect.Reasons)+len(s.Expect.Latency) > 0
			return err
		}},
		{"explain", func(_, v *yaml.Node) (err error) {
			if s.Explain, err = d.str(v, "explain"); err == nil {
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
		return nil, d.errorAt(root, "name is missing: give the scenario a kebab-case name, its file name without .yaml")
	case !seen.summary:
		return nil, d.errorAt(root, "summary is missing: say in one sentence what goes wrong")
	case !seen.expect:
		return nil, d.errorAt(root, "expect is missing: say which share of calls must end with which codes or reasons, or a latency bound")
	}
	return s, nil
}

func (d *decoder) tags(n *yaml.Node) ([]string, error) {
	tags, err := d.strList(n, "tags")
	if err != nil {
		return nil, err
	}
	for i, t := range tags {
		item := n.Content[i]
		if !kebab.MatchString(t) {
			return nil, d.errorAt(item, "tag %q must be kebab-case, such as permission-denied", t)
		}
		if slices.Contains(tags[:i], t) {
			return nil, d.errorAt(item, "tag %q appears twice", t)
		}
	}
	return tags, nil
}

// enum reads a value that must be one of allowed (or absent).
func (d *decoder) enum(n *yaml.Node, what string, allowed []string) (string, error) {
	v, err := d.str(n, what)
	if err != nil || v == "" || slices.Contains(allowed, v) {
		return v, err
	}
	return "", d.errorAt(n, "unknown %s %q%s: want %s", what, v, didYouMean(v, allowed), oneOf(allowed))
}

// algorithm reads a signing algorithm name.
func (d *decoder) algorithm(n *yaml.Node, what string) (string, error) {
	v, err := d.str(n, what)
	if err != nil || v == "" || isAlgorithm(v) {
		return v, err
	}
	return "", d.errorAt(n, "unknown algorithm %q in %s%s: want EdDSA, ES256, RS256 or HS256",
		v, what, didYouMean(v, []string{"EdDSA", "ES256", "RS256", "HS256"}))
}

// methods reads a list of method patterns ("/demo.v1.Vault/Read", "/demo.v1.Vault/*").
func (d *decoder) methods(n *yaml.Node, what string) ([]string, error) {
	list, err := d.strList(n, what)
	if err != nil {
		return nil, err
	}
	for i, m := range list {
		if !methodPattern.MatchString(m) {
			return nil, d.errorAt(n.Content[i], "%s: %q is not a method such as /demo.v1.Vault/Read or /demo.v1.Vault/*", what, m)
		}
	}
	return list, nil
}

func (d *decoder) service(n *yaml.Node, s *Service) error {
	return d.mapping(n, "service", []field{
		{"leeway", func(_, v *yaml.Node) (err error) { s.Leeway, err = d.duration(v, "service.leeway"); return err }},
		{"algorithms", func(_, v *yaml.Node) error {
			algs, err := d.strList(v, "service.algorithms")
			for i := 0; err == nil && i < len(algs); i++ {
				_, err = d.algorithm(v.Content[i], "service.algorithms")
			}
			s.Algorithms = algs
			return err
		}},
		{"max_grant_lifetime", func(_, v *yaml.Node) (err error) {
			s.MaxGrantLifetime, err = d.duration(v, "service.max_grant_lifetime")
			return err
		}},
		{"revocation_mode", func(_, v *yaml.Node) (err error) {
			s.RevocationMode, err = d.enum(v, "service.revocation_mode", RevocationModes)
			return err
		}},
		{"max_staleness", func(_, v *yaml.Node) (err error) {
			s.MaxStaleness, err = d.duration(v, "service.max_staleness")
			return err
		}},
	})
}

// minGrantTTL is the broker's shortest grant: it refuses to issue shorter ones.
const minGrantTTL = time.Second

func (d *decoder) broker(n *yaml.Node, b *Broker) error {
	return d.mapping(n, "broker", []field{
		{"approval", func(_, v *yaml.Node) (err error) {
			b.Approval, err = d.enum(v, "broker.approval", ApprovalModes)
			return err
		}},
		{"auto_approve", func(_, v *yaml.Node) (err error) {
			b.AutoApprove, err = d.duration(v, "broker.auto_approve")
			return err
		}},
		{"algorithm", func(_, v *yaml.Node) (err error) { b.Algorithm, err = d.algorithm(v, "broker.algorithm"); return err }},
		{"grant_ttl", func(_, v *yaml.Node) (err error) {
			b.GrantTTL, err = d.duration(v, "broker.grant_ttl")
			if err == nil && b.GrantTTL > 0 && b.GrantTTL < minGrantTTL {
				err = d.errorAt(v, "broker.grant_ttl %s is shorter than the broker's minimum grant of %s", b.GrantTTL, minGrantTTL)
			}
			return err
		}},
		{"policy_methods", func(_, v *yaml.Node) (err error) {
			b.PolicyMethods, err = d.methods(v, "broker.policy_methods")
			return err
		}},
	})
}

func (d *decoder) client(n *yaml.Node, c *Client) error {
	return d.mapping(n, "client", []field{
		{"subject", func(_, v *yaml.Node) (err error) { c.Subject, err = d.str(v, "client.subject"); return err }},
		{"method", func(_, v *yaml.Node) (err error) {
			if c.Method, err = d.str(v, "client.method"); err == nil && c.Method != "" && !fullMethod.MatchString(c.Method) {
				err = d.errorAt(v, "client.method %q is not a full method name such as /demo.v1.Vault/Read", c.Method)
			}
			return err
		}},
		{"resource", func(_, v *yaml.Node) (err error) { c.Resource, err = d.str(v, "client.resource"); return err }},
		{"deadline", func(_, v *yaml.Node) (err error) { c.Deadline, err = d.duration(v, "client.deadline"); return err }},
		{"grants", func(_, v *yaml.Node) (err error) { c.Grants, err = d.enum(v, "client.grants", GrantModes); return err }},
		{"grant_scope", func(_, v *yaml.Node) (err error) { c.GrantScope, err = d.methods(v, "client.grant_scope"); return err }},
		{"grant_resource", func(_, v *yaml.Node) (err error) {
			c.GrantResource, err = d.str(v, "client.grant_resource")
			return err
		}},
	})
}

func (d *decoder) load(n *yaml.Node, l *LoadProfile) error {
	count := func(v *yaml.Node, what string) (int, error) {
		x, err := d.integer(v, what)
		if err == nil && (x < 0 || x > maxCalls) {
			err = d.errorAt(v, "%s must be between 1 and %d, got %d", what, maxCalls, x)
		}
		return int(x), err
	}
	// The closed-loop keys' nodes, to point at the one that contradicts a rate.
	var closedLoop []*yaml.Node
	err := d.mapping(n, "load", []field{
		{"calls", func(_, v *yaml.Node) (err error) { l.Calls, err = count(v, "load.calls"); return err }},
		{"concurrency", func(k, v *yaml.Node) (err error) {
			closedLoop = append(closedLoop, k)
			l.Concurrency, err = count(v, "load.concurrency")
			return err
		}},
		{"interval", func(k, v *yaml.Node) (err error) {
			closedLoop = append(closedLoop, k)
			l.Interval, err = d.duration(v, "load.interval")
			return err
		}},
		{"rate", func(_, v *yaml.Node) (err error) {
			if l.Rate, err = d.str(v, "load.rate"); err == nil && !isNull(v) && strings.TrimSpace(l.Rate) == "" {
				err = d.errorAt(v, "load.rate is empty: write an arrival rate such as 50/s, or leave it out for a closed loop")
			}
			return err
		}},
		{"duration", func(_, v *yaml.Node) (err error) {
			l.Duration, err = d.duration(v, "load.duration")
			if err == nil && l.Duration > maxLoadDuration {
				err = d.errorAt(v, "load.duration %s is longer than %s: a scenario is a reproduction, not a soak test (use jitbench load)", l.Duration, maxLoadDuration)
			}
			return err
		}},
	})
	if err == nil && l.Rate != "" && len(closedLoop) > 0 {
		k := closedLoop[0]
		err = d.errorAt(k, "load.%s paces a closed loop, but load.rate makes this an open loop: give one or the other", k.Value)
	}
	return err
}

// maxCalls bounds calls and concurrency: a scenario is a reproduction, and a
// typo such as 10000000 should be refused, not run for an hour.
const maxCalls = 1_000_000

// maxLoadDuration bounds load.duration, for the same reason.
const maxLoadDuration = 10 * time.Minute
