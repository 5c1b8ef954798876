package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

// ErrInvalidConfig is wrapped by every error about a config: a bad file, or a Config built in Go that cannot run.
var ErrInvalidConfig = errors.New("invalid conformance config")

// ConfigError is a problem in a target config file, at the node that causes it; its Error() is FILE:LINE:COL: message.
type ConfigError = yamlfile.Error

// LoadConfig reads the target config at path; see ParseConfig.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig reads a target config from data strictly: an unknown or
// repeated key, a value of the wrong kind, a bad duration, profile,
// algorithm or method name, a missing required key, or a key or payload
// file that cannot be read is a *ConfigError at file:line:col. Relative
// file names inside are relative to file's directory.
func ParseConfig(file string, data []byte) (*Config, error) {
	r := &fileReader{
		Reader: yamlfile.Reader{File: file, Err: ErrInvalidConfig, Kind: "target configs"},
		dir:    filepath.Dir(file),
	}
	root, err := r.Load(data, maxDepth, reword)
	if err != nil {
		return nil, err
	}
	if root.Kind == 0 {
		return nil, r.At(nil, emptyFile)
	}
	cfg, err := r.config(root)
	if err != nil {
		return nil, err
	}
	cfg.File = file
	return cfg, nil
}

// emptyFile is the error for a file with nothing in it.
const emptyFile = "empty file: a target config needs at least address, method, payload, keys and audience"

// maxDepth bounds nesting: a target config is three levels deep.
const maxDepth = 16

// reword says a syntax error in the words of a target config.
func reword(e *ConfigError) {
	switch e.Msg {
	case "expected single document, found multiple":
		e.Msg = "more than one YAML document (---): a config file describes one target"
	case "no documents in stream":
		e.Msg = emptyFile
	}
}

// The keys of each mapping, in the order the example file documents them.
var (
	topKeys = []string{"address", "tls", "profile", "method", "payload", "payload_file", "descriptor_set",
		"stream", "control", "headers", "keys", "audience", "subject", "leeway", "max_grant_lifetime",
		"algorithms", "resource", "one_shot", "broker"}
	tlsKeys      = []string{"ca", "cert", "key", "server_name", "insecure"}
	callKeys     = []string{"method", "payload", "payload_file"}
	headerKeys   = []string{"identity", "grant"}
	keysKeys     = []string{"dev", "identity", "grant"}
	issuerKeys   = []string{"issuer", "file"}
	resourceKeys = []string{"pattern", "out_of_scope_payload"}
	brokerKeys   = []string{"address", "audience", "approver", "approver_groups"}
)

// ConfigKeys returns every key a target config may hold, as dotted paths
// ("tls.ca", "keys.grant.file"), in the order the example documents them.
func ConfigKeys() []string {
	nested := map[string][]string{
		"tls": tlsKeys, "stream": callKeys, "control": callKeys, "headers": headerKeys,
		"keys": keysKeys, "resource": resourceKeys, "broker": brokerKeys,
	}
	var out []string
	for _, k := range topKeys {
		out = append(out, k)
		for _, sub := range nested[k] {
			out = append(out, k+"."+sub)
			if k == "keys" && sub != "dev" {
				for _, leaf := range issuerKeys {
					out = append(out, k+"."+sub+"."+leaf)
				}
			}
		}
	}
	return out
}

// config reads the top-level mapping. Every key is read, in file order of
// the example, and the first problem found is the error.
func (r *fileReader) config(root *yaml.Node) (*Config, error) {
	top, err := r.Fields(root, "the target config", topKeys)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"address", "method", "keys", "audience"} {
		if top[k] == nil {
			return nil, r.At(root, "%s is required", k)
		}
	}
	cfg := &Config{}
	err = firstOf(
		set(&cfg.Address, r.required, top["address"], "address"),
		r.tls(top["tls"], cfg),
		r.profile(top["profile"], cfg),
		r.call(root, top, "method", &cfg.Method),
		set(&cfg.DescriptorSet, r.path, top["descriptor_set"], "descriptor_set"),
		r.nestedCall(top["stream"], "stream", &cfg.Stream),
		r.nestedCall(top["control"], "control", &cfg.Control),
		r.headers(top["headers"], cfg),
		r.keys(top["keys"], cfg),
		set(&cfg.Audience, r.required, top["audience"], "audience"),
		set(&cfg.Subject, r.Str, top["subject"], "subject"),
		set(&cfg.Leeway, r.Duration, top["leeway"], "leeway"),
		set(&cfg.MaxGrantLifetime, r.Duration, top["max_grant_lifetime"], "max_grant_lifetime"),
		r.algorithms(top["algorithms"], cfg),
		r.resource(top["resource"], cfg),
		set(&cfg.OneShot, r.Bool, top["one_shot"], "one_shot"),
		r.broker(top["broker"], cfg),
	)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// set reads n with read into dst.
func set[T any](dst *T, read func(*yaml.Node, string) (T, error), n *yaml.Node, what string) error {
	v, err := read(n, what)
	if err == nil {
		*dst = v
	}
	return err
}

// firstOf returns the first non-nil error.
func firstOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// profile reads two-token or single-token.
func (r *fileReader) profile(n *yaml.Node, cfg *Config) error {
	p, err := r.Str(n, "profile")
	if err != nil {
		return err
	}
	if p != "" && p != string(TwoToken) && p != string(SingleToken) {
		return r.At(n, "unknown profile %q: want %s or %s", p, TwoToken, SingleToken)
	}
	cfg.Profile = Profile(p)
	return nil
}

// call reads a method and its payload from mapping m (the top level or a nested call).
func (r *fileReader) call(at *yaml.Node, m map[string]*yaml.Node, where string, c *Call) error {
	name, err := r.required(m["method"], where)
	if err != nil {
		return err
	}
	full, err := load.NormalizeMethod(name)
	if err != nil {
		return r.At(m["method"], "%s: %v", where, err)
	}
	c.Method = full
	prefix := ""
	if where != "method" {
		prefix = where + "."
	}
	payload, file := m["payload"], m["payload_file"]
	switch {
	case payload != nil && file != nil:
		return r.At(file, "%spayload and %spayload_file exclude each other: the request is JSON or binary, not both", prefix, prefix)
	case payload != nil:
		return set(&c.JSON, r.required, payload, prefix+"payload")
	case file != nil:
		path, err := r.path(file, prefix+"payload_file")
		if err != nil {
			return err
		}
		if c.Binary, err = os.ReadFile(path); err != nil {
			return r.At(file, "%spayload_file: %v", prefix, err)
		}
	default:
		return r.At(at, "%spayload (the request as JSON) or %spayload_file (as binary protobuf) is required", prefix, prefix)
	}
	return nil
}

// nestedCall reads an optional {method, payload | payload_file} mapping.
func (r *fileReader) nestedCall(n *yaml.Node, where string, dst **Call) error {
	m, err := r.section(n, where, callKeys)
	if m == nil || err != nil {
		return err
	}
	if m["method"] == nil {
		return r.At(n, "%s.method is required", where)
	}
	*dst = &Call{}
	return r.call(n, m, where, *dst)
}

func (r *fileReader) tls(n *yaml.Node, cfg *Config) error {
	m, err := r.section(n, "tls", tlsKeys)
	if m == nil || err != nil {
		return err
	}
	t := &load.TLSFiles{}
	for _, f := range []struct {
		key string
		dst *string
	}{{"ca", &t.CACert}, {"cert", &t.Cert}, {"key", &t.Key}} {
		if *f.dst, err = r.path(m[f.key], "tls."+f.key); err != nil {
			return err
		}
	}
	if (t.Cert == "") != (t.Key == "") {
		return r.At(n, "tls.cert and tls.key go together: a client certificate needs both")
	}
	if err := firstOf(set(&t.ServerName, r.Str, m["server_name"], "tls.server_name"),
		set(&t.InsecureSkipVerify, r.Bool, m["insecure"], "tls.insecure")); err != nil {
		return err
	}
	if _, err := t.Config(); err != nil {
		return r.At(n, "tls: %v", err)
	}
	cfg.TLS = t
	return nil
}

func (r *fileReader) headers(n *yaml.Node, cfg *Config) error {
	m, err := r.section(n, "headers", headerKeys)
	if m == nil || err != nil {
		return err
	}
	for _, h := range []struct {
		key string
		dst *string
	}{{"identity", &cfg.IdentityHeader}, {"grant", &cfg.GrantHeader}} {
		v, err := r.Str(m[h.key], "headers."+h.key)
		if err != nil {
			return err
		}
		if v != "" && (v != strings.ToLower(v) || strings.ContainsAny(v, " :\t") || strings.HasPrefix(v, "grpc-")) {
			return r.At(m[h.key], "headers.%s: %q is not a usable gRPC metadata name (lower case, no spaces or colons, not grpc-*)", h.key, v)
		}
		*h.dst = v
	}
	return nil
}

// keys reads the issuers: dev: true, or identity and grant key files.
func (r *fileReader) keys(n *yaml.Node, cfg *Config) error {
	m, err := r.Fields(n, "keys", keysKeys)
	if err != nil {
		return err
	}
	dev, err := r.Bool(m["dev"], "keys.dev")
	if err != nil {
		return err
	}
	if dev {
		for _, k := range []string{"identity", "grant"} {
			if m[k] != nil {
				return r.At(m[k], "keys.dev: true uses the development keys for both issuers: remove keys.%s, or dev", k)
			}
		}
		cfg.Identity, cfg.Grant = DevIssuers()
		return nil
	}
	if m["grant"] == nil {
		return r.At(n, "keys.grant is required (or keys.dev: true for the reference's development keys)")
	}
	if cfg.Grant, err = r.issuer(m["grant"], "keys.grant"); err != nil {
		return err
	}
	if m["identity"] != nil {
		if cfg.Identity, err = r.issuer(m["identity"], "keys.identity"); err != nil {
			return err
		}
	}
	return nil
}

// issuer reads {issuer, file}: the file is a JWKS whose signing key has its private half.
func (r *fileReader) issuer(n *yaml.Node, where string) (Issuer, error) {
	m, err := r.Fields(n, where, issuerKeys)
	if err != nil {
		return Issuer{}, err
	}
	var is Issuer
	if is.Name, err = r.required(m["issuer"], where+".issuer"); err != nil {
		return Issuer{}, err
	}
	if m["file"] == nil {
		return Issuer{}, r.At(n, "%s.file is required: a JWKS with the issuer's private keys (jitbench token keygen writes one)", where)
	}
	path, err := r.path(m["file"], where+".file")
	if err != nil {
		return Issuer{}, err
	}
	if is.Keys, err = token.ReadKeyFile(path); err != nil {
		return Issuer{}, r.At(m["file"], "%s.file: %v", where, err)
	}
	if k, err := is.Keys.Signing(); err != nil || k.Private == nil {
		return Issuer{}, r.At(m["file"], "%s.file: %s has no private key: the suite signs tokens with it", where, path)
	}
	return is, nil
}

func (r *fileReader) algorithms(n *yaml.Node, cfg *Config) error {
	algs, err := r.StrList(n, "algorithms")
	if err != nil {
		return err
	}
	for i, a := range algs {
		if err := token.CheckAlgorithm(a); err != nil {
			return r.At(n.Content[i], "algorithms: %v", err)
		}
	}
	cfg.Algorithms = algs
	return nil
}

func (r *fileReader) resource(n *yaml.Node, cfg *Config) error {
	m, err := r.section(n, "resource", resourceKeys)
	if m == nil || err != nil {
		return err
	}
	if cfg.Resource, err = r.required(m["pattern"], "resource.pattern"); err != nil {
		return err
	}
	if m["out_of_scope_payload"] != nil {
		json, err := r.required(m["out_of_scope_payload"], "resource.out_of_scope_payload")
		if err != nil {
			return err
		}
		cfg.OutOfScope = &Call{Method: cfg.Method.Method, JSON: json}
	}
	return nil
}

func (r *fileReader) broker(n *yaml.Node, cfg *Config) error {
	m, err := r.section(n, "broker", brokerKeys)
	if m == nil || err != nil {
		return err
	}
	b := &Broker{}
	if m["address"] == nil {
		return r.At(n, "broker.address is required")
	}
	if err := firstOf(
		set(&b.Address, r.required, m["address"], "broker.address"),
		set(&b.Audience, r.Str, m["audience"], "broker.audience"),
		set(&b.Approver, r.Str, m["approver"], "broker.approver"),
		set(&b.ApproverGroups, r.StrList, m["approver_groups"], "broker.approver_groups"),
	); err != nil {
		return err
	}
	if len(b.ApproverGroups) > 0 && b.Approver == "" {
		return r.At(m["approver_groups"], "broker.approver_groups needs broker.approver: whom the groups belong to")
	}
	cfg.Broker = b
	return nil
}
