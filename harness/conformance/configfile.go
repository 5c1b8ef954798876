package conformance

import (
	"crypto"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/filecap"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/reference/yamlfile"
)

// ErrInvalidConfig is wrapped by every error about a config: a bad file, or a Config built in Go that cannot run.
var ErrInvalidConfig = errors.New("invalid conformance config")

// ConfigError is a problem in a target config file, at the node that causes it; its Error() is FILE:LINE:COL: message.
type ConfigError = yamlfile.Error

// LoadConfig reads the target config at path; see ParseConfig. The file is
// read under filecap.TargetConfig's cap.
func LoadConfig(path string) (*Config, error) {
	data, err := filecap.ReadFile(path, filecap.TargetConfig)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig reads a target config from data strictly: an unknown or
// repeated key, a value of the wrong kind, a bad duration, profile,
// algorithm, method name or claim template, a missing required key, or a
// key or payload file that cannot be read is a *ConfigError at
// file:line:col. Relative file names inside are relative to file's directory.
func ParseConfig(file string, data []byte) (*Config, error) {
	f, r, err := decodeFile(file, data)
	if err != nil {
		return nil, err
	}
	cfg, err := r.build(f)
	if err != nil {
		return nil, err
	}
	cfg.File = file
	return cfg, nil
}

// DecodeFile reads a target config into its schema without building it
// (no key or payload file is read): what a tool that writes configs edits.
func DecodeFile(file string, data []byte) (*File, error) {
	f, _, err := decodeFile(file, data)
	return f, err
}

// decodeFile parses data and decodes it into a File, remembering each node.
func decodeFile(file string, data []byte) (*File, *fileReader, error) {
	r := &fileReader{
		Reader: yamlfile.Reader{File: file, Err: ErrInvalidConfig, Kind: "target configs"},
		dir:    filepath.Dir(file),
		nodes:  map[string]*yaml.Node{},
	}
	root, err := r.Load(data, maxDepth, reword)
	if err != nil {
		return nil, nil, err
	}
	if root.Kind == 0 {
		return nil, nil, r.At(nil, emptyFile)
	}
	r.root = root
	f := &File{}
	if err := r.decode(root, reflect.ValueOf(f).Elem(), ""); err != nil {
		return nil, nil, err
	}
	return f, r, nil
}

// emptyFile is the error for a file with nothing in it.
const emptyFile = "empty file: a target config needs at least address, method, payload, keys and audience"

// maxDepth bounds nesting: a target config is a few levels deep, a claim template a few more.
const maxDepth = 24

// reword says a syntax error in the words of a target config.
func reword(e *ConfigError) {
	switch e.Msg {
	case "expected single document, found multiple":
		e.Msg = "more than one YAML document (---): a config file describes one target"
	case "no documents in stream":
		e.Msg = emptyFile
	}
}

// ConfigKeys returns every key a target config may hold, as dotted paths
// ("tls.ca", "keys.grant.file"), in the schema's order.
func ConfigKeys() []string {
	var out []string
	walkSchema(reflect.TypeFor[File](), "", func(key string, _ reflect.StructField) { out = append(out, key) })
	return out
}

// walkSchema calls each with every key of struct type t and the field behind it, depth first.
func walkSchema(t reflect.Type, prefix string, each func(key string, f reflect.StructField)) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		key := prefix + name
		each(key, f)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[ClaimsFile]() && ft != reflect.TypeFor[Duration]() {
			walkSchema(ft, key+".", each)
		}
	}
}

// at is an error at the node of key (the root when the key is absent).
func (r *fileReader) at(key, format string, args ...any) *ConfigError {
	n := r.nodes[key]
	if n == nil {
		n = r.root
	}
	return r.At(n, format, args...)
}

// build checks f and turns it into a Config, reading the files it names.
func (r *fileReader) build(f *File) (*Config, error) {
	for _, k := range []string{"address", "method", "keys", "audience"} {
		if r.nodes[k] == nil {
			return nil, r.At(r.root, "%s is required", k)
		}
	}
	cfg := &Config{Address: f.Address, Audience: f.Audience, Subject: f.Subject, Leeway: time.Duration(f.Leeway),
		MaxGrantLifetime: time.Duration(f.MaxGrantLifetime), MaxTokenBytes: f.MaxTokenBytes,
		KidRequired: f.KidRequired, TypChecked: f.TypChecked, StrictSignatures: f.StrictSignatures}
	steps := []func() error{
		func() error { return r.nonEmpty("address", f.Address) },
		func() error { return r.tls(f.TLS, cfg) },
		func() error { return r.profile(f.Profile, cfg) },
		func() error {
			return r.call("method", "", &CallFile{Method: f.Method, Payload: f.Payload, PayloadFile: f.PayloadFile}, &cfg.Method)
		},
		func() error { return r.setPath("descriptor_set", f.DescriptorSet, &cfg.DescriptorSet) },
		func() error { return r.nestedCall("stream", f.Stream, &cfg.Stream) },
		func() error { return r.nestedCall("control", f.Control, &cfg.Control) },
		func() error { return r.headers(f.Headers, cfg) },
		func() error { return r.keys(&f.Keys, cfg) },
		func() error { return r.nonEmpty("audience", f.Audience) },
		func() error { return r.durations(f) },
		func() error { return r.algorithms(f.Algorithms, &f.Keys, cfg) },
		func() error { return r.resource(f.Resource, cfg) },
		func() error { return r.tokens(f.Tokens, cfg) },
		func() error { return r.oneShot(f.OneShot, cfg) },
		func() error { return r.broker(f.Broker, cfg) },
		func() error { return r.revoke(f.Revoke, f.Broker != nil, cfg) },
		func() error { return r.keySource(f.KeySource, cfg) },
		func() error { return r.capabilities(f, cfg) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// nonEmpty refuses an empty required value.
func (r *fileReader) nonEmpty(key, v string) error {
	if strings.TrimSpace(v) == "" {
		return r.at(key, "%s must not be empty", key)
	}
	return nil
}

func (r *fileReader) profile(p string, cfg *Config) error {
	if p != "" && p != string(TwoToken) && p != string(SingleToken) {
		return r.at("profile", "unknown profile %q: want %s or %s", p, TwoToken, SingleToken)
	}
	cfg.Profile = Profile(p)
	return nil
}

// call checks a method and reads its payload; key is where it is ("method" for the top level).
func (r *fileReader) call(key, prefix string, c *CallFile, dst *Call) error {
	if err := r.nonEmpty(prefix+"method", c.Method); err != nil {
		return err
	}
	full, err := load.NormalizeMethod(c.Method)
	if err != nil {
		return r.at(prefix+"method", "%smethod: %v", prefix, err)
	}
	dst.Method = full
	switch {
	case c.Payload != "" && r.nodes[prefix+"payload_file"] != nil:
		return r.at(prefix+"payload_file", "%spayload and %spayload_file exclude each other: the request is JSON or binary, not both", prefix, prefix)
	case r.nodes[prefix+"payload"] != nil:
		dst.JSON = c.Payload
		return r.nonEmpty(prefix+"payload", c.Payload)
	case r.nodes[prefix+"payload_file"] != nil:
		var path string
		if err := r.setPath(prefix+"payload_file", c.PayloadFile, &path); err != nil {
			return err
		}
		if dst.Binary, err = filecap.ReadFile(path, filecap.Payload); err != nil {
			return r.at(prefix+"payload_file", "%spayload_file: %v", prefix, err)
		}
		return nil
	}
	at := r.root
	if key != "method" {
		at = r.nodes[key]
	}
	return r.At(at, "%spayload (the request as JSON) or %spayload_file (as binary protobuf) is required", prefix, prefix)
}

// nestedCall reads an optional {method, payload | payload_file} block.
func (r *fileReader) nestedCall(key string, c *CallFile, dst **Call) error {
	if c == nil {
		return nil
	}
	if r.nodes[key+".method"] == nil {
		return r.at(key, "%s.method is required", key)
	}
	*dst = &Call{}
	return r.call(key, key+".", c, *dst)
}

func (r *fileReader) tls(f *TLSFile, cfg *Config) error {
	if f == nil {
		return nil
	}
	t := &load.TLSFiles{ServerName: f.ServerName, InsecureSkipVerify: f.Insecure}
	for _, p := range []struct {
		key, val string
		dst      *string
	}{{"tls.ca", f.CA, &t.CACert}, {"tls.cert", f.Cert, &t.Cert}, {"tls.key", f.Key, &t.Key}} {
		if err := r.setPath(p.key, p.val, p.dst); err != nil {
			return err
		}
	}
	if (t.Cert == "") != (t.Key == "") {
		return r.at("tls", "tls.cert and tls.key go together: a client certificate needs both")
	}
	if _, err := t.Config(); err != nil {
		return r.at("tls", "tls: %v", err)
	}
	cfg.TLS = t
	return nil
}

// headers checks the header names and schemes; the defaults stay in Config.withDefaults.
func (r *fileReader) headers(f *HeadersFile, cfg *Config) error {
	if f == nil {
		return nil
	}
	for _, h := range []struct {
		key    string
		f      *HeaderFile
		name   *string
		scheme *string
	}{{"headers.identity", f.Identity, &cfg.IdentityHeader, &cfg.IdentityScheme}, {"headers.grant", f.Grant, &cfg.GrantHeader, &cfg.GrantScheme}} {
		if h.f == nil {
			continue
		}
		at := h.key
		if r.nodes[h.key+".name"] != nil {
			at = h.key + ".name"
		}
		v := h.f.Name
		if v == "" || v != strings.ToLower(v) || strings.ContainsAny(v, " :\t") || strings.HasPrefix(v, "grpc-") {
			return r.at(at, "%s: %q is not a usable gRPC metadata name (lower case, no spaces or colons, not grpc-*)", h.key, v)
		}
		*h.name = v
		if h.f.Scheme != nil {
			s := *h.f.Scheme
			if strings.ContainsAny(s, " \t:") {
				return r.at(h.key+".scheme", "%s.scheme: %q is not a scheme (one word, such as Bearer)", h.key, s)
			}
			*h.scheme = s
			if s == "" {
				*h.scheme = NoScheme
			}
		}
	}
	return nil
}

// keys reads the issuers: dev: true, or each issuer's key.
func (r *fileReader) keys(f *KeysFile, cfg *Config) error {
	if f.Dev {
		for _, k := range []string{"identity", "grant"} {
			if r.nodes["keys."+k] != nil {
				return r.at("keys."+k, "keys.dev: true uses the development keys for both issuers: remove keys.%s, or dev", k)
			}
		}
		cfg.Identity, cfg.Grant = DevIssuers()
		return nil
	}
	if f.Grant == nil {
		return r.at("keys", "keys.grant is required (or keys.dev: true for the reference's development keys)")
	}
	var err error
	if cfg.Grant, err = r.issuer("keys.grant", f.Grant); err != nil {
		return err
	}
	if f.Identity != nil {
		if cfg.Identity, err = r.issuer("keys.identity", f.Identity); err != nil {
			return err
		}
	}
	return nil
}

// issuer reads one issuer's key from a key file, a secret file or the environment.
func (r *fileReader) issuer(key string, f *IssuerFile) (Issuer, error) {
	is := Issuer{Name: f.Issuer}
	if err := r.nonEmpty(key+".issuer", f.Issuer); err != nil {
		if r.nodes[key+".issuer"] == nil {
			return Issuer{}, r.at(key, "%s.issuer is required", key)
		}
		return Issuer{}, err
	}
	var sources []string
	for _, s := range []string{"file", "secret_file", "secret_env"} {
		if r.nodes[key+"."+s] != nil {
			sources = append(sources, s)
		}
	}
	if len(sources) != 1 {
		return Issuer{}, r.at(key, "%s needs one key: file (a JWKS, JWK, PEM or DER private key), secret_file or secret_env (an HMAC secret)", key)
	}
	src := key + "." + sources[0]
	if f.Alg != "" {
		if err := token.CheckAlgorithm(f.Alg); err != nil {
			return Issuer{}, r.at(key+".alg", "%s.alg: %v", key, err)
		}
	}
	var err error
	switch sources[0] {
	case "secret_env":
		secret := os.Getenv(f.SecretEnv)
		if secret == "" {
			return Issuer{}, r.at(src, "%s: the environment variable %q is empty or not set", src, f.SecretEnv)
		}
		is.Keys, err = ParseSecret("$"+f.SecretEnv, []byte(secret), f.Kid)
	default:
		var path string
		val := f.File
		if sources[0] == "secret_file" {
			val = f.SecretFile
		}
		if err := r.setPath(src, val, &path); err != nil {
			return Issuer{}, err
		}
		data, rerr := filecap.ReadFile(path, filecap.KeyFile)
		if rerr != nil {
			return Issuer{}, r.at(src, "%s: %v", src, rerr)
		}
		if sources[0] == "secret_file" {
			is.Keys, err = ParseSecret(path, data, f.Kid)
		} else {
			is.Keys, err = ParseKeyFile(path, data, KeyOptions{Alg: f.Alg, Kid: f.Kid})
		}
	}
	if err != nil {
		return Issuer{}, r.at(src, "%s: %v", src, err)
	}
	if sources[0] != "file" && f.Alg != "" && f.Alg != token.HS256 {
		return Issuer{}, r.at(key+".alg", "%s.alg: a secret is an HS256 key, not %s", key, f.Alg)
	}
	if f.PublicFile != "" {
		if is.PublicKeyFile, err = r.publicFile(key+".public_file", f.PublicFile, is.Keys); err != nil {
			return Issuer{}, err
		}
	}
	return is, nil
}

// publicFile reads the issuer's public key as the service holds it and checks it is the issuer's.
func (r *fileReader) publicFile(key, name string, keys *token.KeySet) ([]byte, error) {
	var path string
	if err := r.setPath(key, name, &path); err != nil {
		return nil, err
	}
	data, err := filecap.ReadFile(path, filecap.KeyFile)
	if err != nil {
		return nil, r.at(key, "%s: %v", key, err)
	}
	pub, err := ParsePublicKey(path, data)
	if err != nil {
		return nil, r.at(key, "%s: %v", key, err)
	}
	for _, k := range keys.Keys() {
		if eq, ok := k.Public.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(pub) {
			return data, nil
		}
	}
	return nil, r.at(key, "%s: %s holds a public key that is none of the issuer's keys", key, path)
}

func (r *fileReader) durations(f *File) error {
	for _, d := range []struct {
		key string
		v   Duration
	}{{"leeway", f.Leeway}, {"max_grant_lifetime", f.MaxGrantLifetime}} {
		if d.v < 0 {
			return r.at(d.key, "%s must not be negative", d.key)
		}
	}
	return nil
}

// algorithms reads the pinned list; by default EdDSA and ES256 with the
// development keys, else the algorithms of the keys the issuers sign with.
func (r *fileReader) algorithms(algs []string, keys *KeysFile, cfg *Config) error {
	for i, a := range algs {
		if err := token.CheckAlgorithm(a); err != nil {
			return r.At(r.nodes["algorithms"].Content[i], "algorithms: %v", err)
		}
	}
	cfg.Algorithms = algs
	if len(algs) > 0 || keys.Dev {
		return nil
	}
	for _, is := range []Issuer{cfg.Grant, cfg.Identity} {
		if is.Keys == nil {
			continue
		}
		if k, err := is.Keys.Signing(); err == nil && !slices.Contains(cfg.Algorithms, k.Algorithm) {
			cfg.Algorithms = append(cfg.Algorithms, k.Algorithm)
		}
	}
	return nil
}

func (r *fileReader) resource(f *ResourceFile, cfg *Config) error {
	if f == nil {
		return nil
	}
	if r.nodes["resource.pattern"] == nil {
		return r.at("resource", "resource.pattern is required")
	}
	if err := r.nonEmpty("resource.pattern", f.Pattern); err != nil {
		return err
	}
	cfg.Resource = f.Pattern
	if r.nodes["resource.out_of_scope_payload"] != nil {
		if err := r.nonEmpty("resource.out_of_scope_payload", f.OutOfScopePayload); err != nil {
			return err
		}
		cfg.OutOfScope = &Call{Method: cfg.Method.Method, JSON: f.OutOfScopePayload}
	}
	return nil
}

// tokens builds each credential's layout from its preset, its claims and its header choices.
func (r *fileReader) tokens(f *TokensFile, cfg *Config) error {
	var id, grant *TokenFile
	if f != nil {
		id, grant = f.Identity, f.Grant
	}
	var err error
	if cfg.IdentityToken, err = r.layout("tokens.identity", id, false, cfg); err != nil {
		return err
	}
	if cfg.GrantToken, err = r.layout("tokens.grant", grant, true, cfg); err != nil {
		return err
	}
	if cfg.Resource != "" && !cfg.grantTemplate().Uses(fakes.PlaceholderResource) {
		return r.at("resource", "resource: the grant's claim template has no ${resource}, so no grant can be scoped to %q", cfg.Resource)
	}
	return nil
}

// layout reads one credential's layout; a nil f is the reference's.
func (r *fileReader) layout(key string, f *TokenFile, grant bool, cfg *Config) (TokenLayout, error) {
	var l TokenLayout
	if f == nil {
		return l, nil
	}
	if !grant {
		for _, k := range []string{"preset", "method_form", "permissions"} {
			if r.nodes[key+"."+k] != nil {
				return l, r.at(key+"."+k, "%s.%s: only grants name what they allow; an identity's claims are a template of their own", key, k)
			}
		}
	}
	var base *fakes.ClaimTemplate
	if f.Preset != "" {
		p, err := fakes.LookupPreset(f.Preset)
		if err != nil {
			return l, r.at(key+".preset", "%s.preset: %s", key, strings.TrimPrefix(err.Error(), fakes.ErrBadTemplate.Error()+": "))
		}
		base, l.Typ = p.Template(cfg.Resource != ""), p.Typ
	}
	if f.Claims != nil {
		var err error
		if base != nil {
			l.Claims, err = base.Merge(f.Claims.Object)
		} else {
			l.Claims, err = fakes.NewClaimTemplate(f.Claims.Object)
		}
		if err != nil {
			return l, r.at(key+".claims", "%s.claims: %v", key, strings.TrimPrefix(err.Error(), fakes.ErrBadTemplate.Error()+": "))
		}
	} else {
		l.Claims = base
	}
	if f.Typ != nil {
		l.Typ, l.NoTyp = *f.Typ, *f.Typ == ""
	}
	if f.Kid != nil {
		l.NoKid = !*f.Kid
	}
	if f.MethodForm != "" {
		if !slices.Contains(fakes.MethodForms(), fakes.MethodForm(f.MethodForm)) {
			return l, r.at(key+".method_form", "%s.method_form: %q is not a form: want %s", key, f.MethodForm, formList())
		}
		l.MethodForm = fakes.MethodForm(f.MethodForm)
	}
	if len(f.Permissions) > 0 {
		l.Permissions = map[string]string{}
		for m, p := range f.Permissions {
			full, err := load.NormalizeMethod(m)
			if err != nil {
				return l, r.at(key+".permissions", "%s.permissions: %v", key, err)
			}
			l.Permissions[full] = p
		}
	}
	return l, nil
}

func formList() string {
	var out []string
	for _, f := range fakes.MethodForms() {
		out = append(out, string(f))
	}
	return strings.Join(out, ", ")
}

func (r *fileReader) oneShot(f *OneShotFile, cfg *Config) error {
	if !f.On() {
		return nil
	}
	cfg.OneShot = true
	if f.Claims != nil {
		cfg.OneShotClaims = f.Claims.Object
		if cfg.OneShotClaims == nil {
			cfg.OneShotClaims = fakes.Object{}
		}
	}
	return nil
}

func (r *fileReader) broker(f *BrokerFile, cfg *Config) error {
	if f == nil {
		return nil
	}
	if r.nodes["broker.address"] == nil {
		return r.at("broker", "broker.address is required")
	}
	if err := r.nonEmpty("broker.address", f.Address); err != nil {
		return err
	}
	if len(f.ApproverGroups) > 0 && f.Approver == "" {
		return r.at("broker.approver_groups", "broker.approver_groups needs broker.approver: whom the groups belong to")
	}
	cfg.Broker = &Broker{Address: f.Address, Audience: f.Audience, Approver: f.Approver, ApproverGroups: f.ApproverGroups}
	return nil
}

func (r *fileReader) revoke(f *RevokeFile, hasBroker bool, cfg *Config) error {
	if f == nil {
		return nil
	}
	switch {
	case hasBroker:
		return r.at("revoke", "broker and revoke are two ways to revoke a grant: keep one")
	case (len(f.Command) > 0) == (f.URL != ""):
		return r.at("revoke", "revoke needs one hook: command (a program and its arguments) or url")
	case len(f.Command) > 0:
		cfg.Revoker = CommandRevoker{Args: f.Command, Dir: r.dir}
	default:
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return r.at("revoke.url", "revoke.url: %q is not an http or https URL", f.URL)
		}
		cfg.Revoker = HTTPRevoker{URL: f.URL}
	}
	return nil
}

func (r *fileReader) keySource(f *KeySourceFile, cfg *Config) error {
	if f == nil {
		return nil
	}
	if r.nodes["key_source.listen"] == nil {
		return r.at("key_source", "key_source.listen is required: the host:port the service reads its keys from")
	}
	if _, _, err := net.SplitHostPort(f.Listen); err != nil {
		return r.at("key_source.listen", "key_source.listen: %v", err)
	}
	if f.Path != "" && !strings.HasPrefix(f.Path, "/") {
		return r.at("key_source.path", "key_source.path must start with /")
	}
	if cfg.Grant.Keys == nil {
		return nil // keys reported their own error
	}
	if k, err := cfg.Grant.Keys.Signing(); err == nil && k.Algorithm == token.HS256 {
		return r.at("key_source", "key_source serves public keys, and the grant key is an HS256 secret")
	}
	cfg.KeySource = NewServedKeys(f.Listen, f.Path, cfg.Grant.Keys)
	return nil
}

// capabilities checks the declarations that depend on the rest of the config.
func (r *fileReader) capabilities(f *File, cfg *Config) error {
	if f.KidRequired && cfg.GrantToken.NoKid {
		return r.at("kid_required", "kid_required: the grant layout says tokens carry no kid (tokens.grant.kid: false)")
	}
	if f.TypChecked && cfg.GrantToken.NoTyp {
		return r.at("typ_checked", "typ_checked: the grant layout says tokens carry no typ (tokens.grant.typ: \"\")")
	}
	if f.MaxTokenBytes > maxTokenBytes {
		return r.at("max_token_bytes", "max_token_bytes: %d is more than the %d a gRPC header carries here", f.MaxTokenBytes, maxTokenBytes)
	}
	return nil
}

// maxTokenBytes bounds max_token_bytes: FMT-005 sends a token that large.
const maxTokenBytes = 1 << 20

// setPath reads an optional file name, made relative to the config's
// directory. The file must be a regular file: a device such as /dev/zero
// would never end.
func (r *fileReader) setPath(key, name string, dst *string) error {
	if name == "" {
		return nil
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return r.at(key, "%s: %v", key, err)
	case !fi.Mode().IsRegular():
		return r.at(key, "%s: %s is not a regular file", key, path)
	}
	*dst = path
	return nil
}
