package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/filecap"
	"github.com/jitbench/jitbench/reference/token"
)

// `jitbench conformance init` writes a target config from what a user
// has at hand: the service's address (its reflection, or a descriptor
// set), a sample token or two from its test environment, and their test
// keys. What it cannot see it says, and leaves out: a capability left out
// only skips the cases that need it.

// ErrInit is wrapped by every error of Init about its input (a flag, a
// sample, a key); ErrUnreachable and ErrNoReflection are the target's.
var ErrInit = errors.New("cannot write a config")

// InitOptions are what init is told.
type InitOptions struct {
	// Address is the target's host:port; its server reflection lists the services unless DescriptorSet is set.
	Address string
	// DescriptorSet is a FileDescriptorSet file of the target's services.
	DescriptorSet string
	// Profile, when set, must agree with the samples given.
	Profile Profile
	// SampleToken is the one token of the single-token profile; SampleIdentity
	// and SampleGrant the two of the two-token profile. Each may be a header
	// value ("Bearer eyJ..."): the word before the token is its scheme.
	SampleToken, SampleIdentity, SampleGrant string
	// Keys is the private test key of every issuer; IdentityKeys and GrantKeys
	// one issuer's. Each is a file (JWKS, JWK, PEM, DER or an HMAC secret) or env:NAME (an HMAC secret).
	Keys, IdentityKeys, GrantKeys string
	// IdentityHeader and GrantHeader are "name" or "name: Scheme".
	IdentityHeader, GrantHeader string
	// Method is the protected unary method the suite calls; empty picks one the sample grants.
	Method string
	// Payload is Method's request as protobuf JSON; empty writes the empty request of its type.
	Payload string
	// Leeway is the service's clock-skew tolerance; zero leaves the default (30s).
	Leeway time.Duration
	// ConfigDir is the directory the config is written to: file names in it
	// are relative to it. Empty means the working directory.
	ConfigDir string
}

// InitResult is a written config and what init made of its input.
type InitResult struct {
	// File is the config; YAML is it written out, with comments.
	File *File
	YAML []byte
	// Inferred says, one line each, what init read from the samples and the target.
	Inferred []string
	// Todo says, one line each, what the user must still check or supply.
	Todo []string
}

// initBuilder is one run of Init.
type initBuilder struct {
	o               InitOptions
	res             *InitResult
	f               *File
	identity, grant *Sample
	surface         *apiSurface
	comments        map[string]string // a top-level key's head comment
}

func (b *initBuilder) infer(format string, args ...any) {
	b.res.Inferred = append(b.res.Inferred, fmt.Sprintf(format, args...))
}

func (b *initBuilder) todo(format string, args ...any) {
	b.res.Todo = append(b.res.Todo, fmt.Sprintf(format, args...))
}

// initErr is an error about init's input, in one line.
func initErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInit, fmt.Sprintf(format, args...))
}

// Init writes a target config from o: the samples' layout, the target's
// methods and the keys. It reaches the target (unless o.DescriptorSet is
// set) but sends it no credential.
func Init(ctx context.Context, o InitOptions) (*InitResult, error) {
	b := &initBuilder{o: o, res: &InitResult{}, f: &File{Address: o.Address}, comments: map[string]string{}}
	steps := []func(context.Context) error{b.samples, b.services, b.scope, b.headers, b.keys, b.rest}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	b.res.File = b.f
	var err error
	if b.res.YAML, err = b.yaml(); err != nil {
		return nil, err
	}
	return b.res, nil
}

// samples reads the sample tokens and settles the profile.
func (b *initBuilder) samples(context.Context) error {
	o := b.o
	if strings.TrimSpace(o.Address) == "" {
		return initErr("--address is required: the service's host:port")
	}
	grantRaw, flag := o.SampleGrant, "--sample-grant"
	switch {
	case o.SampleToken != "" && (o.SampleIdentity != "" || o.SampleGrant != ""):
		return initErr("--sample-token is the one token of the single-token profile: give it, or --sample-identity and --sample-grant")
	case o.SampleToken != "":
		grantRaw, flag = o.SampleToken, "--sample-token"
	case o.SampleGrant == "" && o.SampleIdentity != "":
		return initErr("--sample-identity needs --sample-grant: the two-token profile's grant")
	case o.SampleGrant == "":
		return initErr("a sample token is required: --sample-token (one token) or --sample-identity and --sample-grant (two tokens)")
	}
	profile := SingleToken
	if o.SampleIdentity != "" {
		profile = TwoToken
	}
	if o.Profile != "" && o.Profile != profile {
		return initErr("--profile %s does not fit the samples: %s takes %s", o.Profile, profile, map[Profile]string{
			TwoToken: "--sample-identity and --sample-grant", SingleToken: "--sample-token alone"}[profile])
	}
	var err error
	if b.grant, err = InferSample(grantRaw); err != nil {
		return initErr("%s: %v", flag, err)
	}
	if o.SampleIdentity != "" {
		if b.identity, err = InferSample(o.SampleIdentity); err != nil {
			return initErr("--sample-identity: %v", err)
		}
		b.identity.Scope, b.identity.Resource = SampleScope{}, "" // an identity allows nothing: its claims stay as they are
	}
	if profile == SingleToken {
		b.f.Profile = string(SingleToken)
	}
	b.infer("profile: %s (%s)", profile, map[Profile]string{TwoToken: "an identity and a grant were given", SingleToken: "one token was given"}[profile])
	return nil
}

// services lists the target's methods.
func (b *initBuilder) services(ctx context.Context) error {
	var err error
	if b.o.DescriptorSet != "" {
		if b.surface, err = surfaceFromSet(b.o.DescriptorSet); err != nil {
			return initErr("--descriptor-set: %v", err)
		}
		b.f.DescriptorSet = b.path(b.o.DescriptorSet)
	} else {
		conns, err := load.Dial(ctx, b.o.Address, load.DialOptions{Timeout: connectTimeout})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnreachable, err)
		}
		defer conns[0].Close()
		if b.surface, err = surfaceFromReflection(ctx, conns[0]); err != nil {
			return err
		}
	}
	if len(b.surface.methods) == 0 {
		return initErr("%s lists no service besides gRPC's own", b.surface.source)
	}
	var names []string
	for _, m := range b.surface.methods {
		if !slices.Contains(names, string(m.Parent().FullName())) {
			names = append(names, string(m.Parent().FullName()))
		}
	}
	b.infer("services (%s): %s", b.surface.source, strings.Join(names, ", "))
	return nil
}

// scope settles the grant's layout, the method the suite calls, its stream and their requests.
func (b *initBuilder) scope(context.Context) error {
	g := b.grant
	sc := g.Scope
	form, granted := methodForm(sc.Values, b.surface)
	layout := &TokenFile{}
	var perms map[string]string
	if sc.Claim != "" {
		b.infer("grant scope: %s: %s", sc.Form(), strings.Join(sc.Values, " "))
	}
	switch {
	case sc.Claim == "":
		b.todo("the sample names no scope claim this init knows (scope, methods, scp, permissions, roles): the scope cases (SCP-001, SCP-005) will not apply; write the claim in tokens.grant.claims with ${methods} or ${permissions}")
	case len(granted) > 0:
		b.infer("method names in the scope, written %s", form)
		if form != fakes.FormFull {
			layout.MethodForm = string(form)
		}
	default:
		perms, granted = matchPermissions(sc.Values, b.surface.methods)
		b.infer("the scope values are permissions, not method names: matched by name to %d method(s)", len(perms))
	}
	unary, stream := pickMethods(granted)
	if b.o.Method != "" {
		full, err := load.NormalizeMethod(b.o.Method)
		if err != nil {
			return initErr("--method: %v", err)
		}
		if unary = b.surface.find(full); unary == nil {
			return initErr("--method %s: %s has no such method", full, b.surface.source)
		}
		if unary.IsStreamingClient() || unary.IsStreamingServer() {
			return initErr("--method %s streams: the suite calls a unary method", full)
		}
		if perms != nil && perms[full] == "" && len(sc.Values) > 0 {
			perms[full] = sc.Values[0]
			b.todo("permissions: %s was mapped to %q, the sample's first scope value, by guess: check it", full, sc.Values[0])
		}
		if perms == nil && len(granted) > 0 && !slices.Contains(granted, unary) {
			b.todo("the sample grant does not name %s: the valid call may be refused", full)
		}
	}
	if unary == nil {
		return initErr("cannot tell which method the sample grants (%s): name a unary method it grants with --method", sc.Form())
	}
	b.f.Method = methodName(unary)
	b.f.Payload = b.o.Payload
	if b.f.Payload == "" {
		b.f.Payload = defaultPayload(unary.Input())
		b.todo("payload: %s is a default %s: if %s needs more to answer OK, pass --payload", b.f.Payload, unary.Input().FullName(), b.f.Method)
	}
	b.infer("method: %s (unary, granted by the sample)", b.f.Method)
	if stream != nil {
		b.f.Stream = &CallFile{Method: methodName(stream), Payload: defaultPayload(stream.Input())}
		b.infer("stream: %s (server-streaming, granted by the sample): SCP-004 runs", b.f.Stream.Method)
	} else {
		b.todo("stream: the sample grants no server-streaming method: SCP-004 is skipped unless you add one")
	}
	if len(perms) > 0 {
		layout.Permissions = map[string]string{}
		for m, p := range perms {
			layout.Permissions[m] = p
		}
		b.todo("tokens.grant.permissions were matched by name: check them (the methods no sample value matched are listed there, commented out)")
	}
	claims, err := g.Template(len(perms) == 0)
	if err != nil {
		return initErr("--sample-grant: %v", err)
	}
	layout.Claims = &ClaimsFile{Object: claims}
	b.tokenHeader(layout, g, "grant")
	b.f.Tokens = &TokensFile{Grant: layout}
	if b.identity != nil {
		claims, err := b.identity.Template(false)
		if err != nil {
			return initErr("--sample-identity: %v", err)
		}
		id := &TokenFile{Claims: &ClaimsFile{Object: claims}}
		b.tokenHeader(id, b.identity, "identity")
		b.f.Tokens.Identity = id
	}
	if g.Resource != "" {
		b.f.Resource = &ResourceFile{Pattern: g.Resource}
		b.infer("resource: %q (SCP-002 runs: the payload must address a resource inside it)", g.Resource)
	}
	return nil
}

// tokenHeader copies the sample's typ and kid choices into l.
func (b *initBuilder) tokenHeader(l *TokenFile, s *Sample, which string) {
	typ := s.Typ
	l.Typ = &typ
	kid := s.HasKid
	l.Kid = &kid
	desc := "typ " + s.Typ
	if !s.HasTyp {
		desc = "no typ"
	}
	if s.HasKid {
		desc += ", kid " + s.Kid
	} else {
		desc += ", no kid"
	}
	b.infer("%s: alg %s, %s, iss %q, aud %s, lifetime %s", which, s.Alg, desc, s.Issuer, audDesc(s), lifetimeDesc(s.Lifetime))
	if len(s.OtherHeader) > 0 {
		b.todo("%s: the header parameters %s are not reproduced", which, strings.Join(s.OtherHeader, ", "))
	}
}

func audDesc(s *Sample) string {
	if s.Audience == "" {
		return "none"
	}
	if s.AudienceArray {
		return fmt.Sprintf("[%q] (an array)", s.Audience)
	}
	return fmt.Sprintf("%q", s.Audience)
}

func lifetimeDesc(d time.Duration) string {
	if d == 0 {
		return "unknown (no exp or iat)"
	}
	return d.String()
}

// headers writes the credential headers: the flags', else the defaults with the samples' schemes.
func (b *initBuilder) headers(context.Context) error {
	h := &HeadersFile{}
	var err error
	idSample := b.identity
	if idSample == nil {
		idSample = b.grant // the one token travels in the identity header
		if b.o.GrantHeader != "" {
			return initErr("--grant-header: the single-token profile sends its one token in --identity-header")
		}
	}
	if h.Identity, err = headerFor("--identity-header", b.o.IdentityHeader, "authorization", "Bearer", idSample.Scheme); err != nil {
		return err
	}
	if b.identity != nil {
		if h.Grant, err = headerFor("--grant-header", b.o.GrantHeader, "x-jit-grant", "", b.grant.Scheme); err != nil {
			return err
		}
	}
	b.f.Headers = h
	return nil
}

// headerFor is a header from its flag ("name" or "name: Scheme"), else the default, with the sample's scheme unless the flag gives one.
func headerFor(flag, spec, name, scheme, sampleScheme string) (*HeaderFile, error) {
	if sampleScheme != "" {
		scheme = sampleScheme
	}
	if spec != "" {
		n, s, hasScheme := strings.Cut(spec, ":")
		name = strings.TrimSpace(n)
		if hasScheme {
			scheme = strings.TrimSpace(s)
		}
	}
	if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, " \t") || strings.HasPrefix(name, "grpc-") {
		return nil, initErr("%s %q: want a lower-case gRPC metadata name, optionally with its scheme (\"x-grant\", \"authorization: Bearer\")", flag, spec)
	}
	if strings.ContainsAny(scheme, " \t") {
		return nil, initErr("%s %q: the scheme is one word, such as Bearer", flag, spec)
	}
	s := scheme
	return &HeaderFile{Name: name, Scheme: &s}, nil
}

// keys writes each issuer and its key.
func (b *initBuilder) keys(context.Context) error {
	grantSpec := b.o.GrantKeys
	if grantSpec == "" {
		grantSpec = b.o.Keys
	}
	if b.identity == nil && b.o.IdentityKeys != "" {
		return initErr("--identity-keys: the single-token profile has one issuer: give its key with --keys or --grant-keys")
	}
	var err error
	if b.f.Keys.Grant, err = b.issuer("--grant-keys", "grant", b.grant, grantSpec); err != nil {
		return err
	}
	if b.identity != nil {
		idSpec := b.o.IdentityKeys
		if idSpec == "" {
			idSpec = b.o.Keys
		}
		if b.f.Keys.Identity, err = b.issuer("--identity-keys", "identity", b.identity, idSpec); err != nil {
			return err
		}
	}
	return nil
}

// missingKey is the file name written for a key the user has yet to give.
const missingKey = "REPLACE-ME-%s-private-test-key"

// issuer is one issuer: its name from the sample, its key from spec (a file or env:NAME).
func (b *initBuilder) issuer(flag, which string, s *Sample, spec string) (*IssuerFile, error) {
	is := &IssuerFile{Issuer: s.Issuer}
	if is.Issuer == "" {
		is.Issuer = which + "-issuer"
		b.todo("keys.%s.issuer: the sample has no iss: %q is a name for messages only", which, is.Issuer)
	}
	if spec == "" {
		is.File = fmt.Sprintf(missingKey, which)
		b.todo("keys.%s.file: the %s issuer's private test key (JWKS, JWK, PEM or DER; an HMAC secret in secret_file): pass it with %s or --keys", which, which, flag)
		return is, nil
	}
	if name, ok := strings.CutPrefix(spec, "env:"); ok {
		if !strings.HasPrefix(s.Alg, "HS") {
			return nil, initErr("%s %s: an environment variable holds an HMAC secret, and the sample is signed with %s", flag, spec, s.Alg)
		}
		is.SecretEnv = name
		if v := os.Getenv(name); v == "" {
			b.todo("keys.%s.secret_env: $%s is empty here: set it before the run", which, name)
		} else if keys, err := ParseSecret("$"+name, []byte(v), s.Kid); err == nil {
			b.verify(which, s, keys, "$"+name)
		}
		if s.HasKid {
			is.Kid = s.Kid
		}
		return is, nil
	}
	data, err := filecap.ReadFile(spec, filecap.KeyFile)
	if err != nil {
		return nil, initErr("%s: %v", flag, err)
	}
	keys, err := ParseKeyFile(spec, data, KeyOptions{})
	switch {
	case err != nil && strings.HasPrefix(s.Alg, "HS"):
		is.SecretFile = b.path(spec)
		if s.HasKid {
			is.Kid = s.Kid
		}
		keys, err = ParseSecret(spec, data, s.Kid)
		if err != nil {
			return nil, initErr("%s: %v", flag, err)
		}
		b.verify(which, s, keys, spec)
		return is, nil
	case err != nil:
		return nil, initErr("%s: %v", flag, err)
	}
	is.File = b.path(spec)
	k, _ := keys.Signing() // ParseKeyFile returns a set with a signing key
	if k.Algorithm != s.Alg {
		return nil, initErr("%s: %s holds a %s key, and the %s sample is signed with %s: is it the %s issuer's key?", flag, spec, k.Algorithm, which, s.Alg, which)
	}
	if s.HasKid && k.ID != s.Kid {
		withKid, err := ParseKeyFile(spec, data, KeyOptions{Kid: s.Kid})
		if err != nil {
			b.todo("keys.%s: the sample's kid is %q and %s signs as %q: give a file with the key of that kid", which, s.Kid, spec, k.ID)
		} else {
			keys, is.Kid = withKid, s.Kid
		}
	}
	b.verify(which, s, keys, spec)
	return is, nil
}

// verify checks the sample's signature with keys, and says when it does not verify.
func (b *initBuilder) verify(which string, s *Sample, keys *token.KeySet, name string) {
	if !sampleVerifies(s, keys) {
		b.todo("keys.%s: the %s sample's signature does not verify with %s: is it the key of the environment the sample comes from?", which, which, name)
		return
	}
	b.infer("keys.%s: %s verifies the sample's signature", which, name)
}

// rest writes the audience, subject, leeway, algorithms and control.
func (b *initBuilder) rest(context.Context) error {
	g := b.grant
	b.f.Audience = g.Audience
	if b.f.Audience == "" {
		b.f.Audience = "none"
		b.todo("audience: the sample has no aud: the aud cases (CLM-006) send one your service may not check")
	}
	b.f.Subject = g.Subject
	if b.identity != nil && b.identity.Subject != g.Subject {
		b.todo("subject: the identity names %q and the grant %q: the suite names one caller in both", b.identity.Subject, g.Subject)
	}
	if b.o.Leeway > 0 {
		b.f.Leeway = Duration(b.o.Leeway)
	} else {
		b.todo("leeway: your service's clock-skew tolerance (the default 30s is assumed): SKW-001 and SKW-002 test it to the second; pass --leeway")
	}
	for _, s := range []*Sample{b.identity, g} {
		if s != nil && !slices.Contains(b.f.Algorithms, s.Alg) {
			b.f.Algorithms = append(b.f.Algorithms, s.Alg)
		}
	}
	if b.surface.health {
		b.f.Control = &CallFile{Method: "/" + healthService + "/Check", Payload: "{}"}
		b.infer("control: gRPC health (%s/Check)", healthService)
	} else {
		b.todo("control: the target has no gRPC health service: add control: with a method that answers OK without credentials, so an unreachable target is told from a failing one")
	}
	if g.Lifetime > 0 && g.Lifetime < 5*time.Minute {
		b.todo("max_grant_lifetime: the sample lives %s and the suite's valid grants live 5m: if your service refuses that, declare its longest lifetime", g.Lifetime)
	}
	b.todo("capabilities init cannot see (docs/conformance.md, Capabilities): max_grant_lifetime, max_token_bytes, kid_required, typ_checked, one_shot, broker or revoke, key_source")
	return nil
}

// path is name as the config writes it: relative to the config's directory when it is near.
func (b *initBuilder) path(name string) string {
	abs, err := filepath.Abs(name)
	if err != nil {
		return name
	}
	dir := b.o.ConfigDir
	if dir == "" {
		dir = "."
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(absDir, abs)
	up := strings.Count(filepath.ToSlash(rel)+"/", "../")
	if err != nil || up > 2 {
		return abs // far away: a relative name would only obscure it
	}
	return rel
}

// methodForm finds the form in which values name the surface's methods, and the methods they name, in order.
func methodForm(values []string, a *apiSurface) (fakes.MethodForm, []protoreflect.MethodDescriptor) {
	var bestForm fakes.MethodForm
	var best []protoreflect.MethodDescriptor
	for _, f := range fakes.MethodForms() {
		var named []protoreflect.MethodDescriptor
		for _, v := range values {
			for _, m := range a.methods {
				if f.Spell(methodName(m)) == v && !slices.Contains(named, m) {
					named = append(named, m)
				}
			}
		}
		if len(named) > len(best) {
			bestForm, best = f, named
		}
	}
	return bestForm, best
}

// pickMethods is the first unary and the first server-streaming method of ms.
func pickMethods(ms []protoreflect.MethodDescriptor) (unary, stream protoreflect.MethodDescriptor) {
	for _, m := range ms {
		switch {
		case m == nil || m.IsStreamingClient():
		case m.IsStreamingServer():
			if stream == nil {
				stream = m
			}
		case unary == nil:
			unary = m
		}
	}
	return unary, stream
}

// defaultPayload is a request of type md that most services answer: the
// empty message, or a wrapper's value.
func defaultPayload(md protoreflect.MessageDescriptor) string {
	switch md.FullName() {
	case "google.protobuf.StringValue":
		return `"jitbench"`
	case "google.protobuf.BytesValue":
		return `""`
	case "google.protobuf.Int64Value", "google.protobuf.UInt64Value":
		return `"1"`
	case "google.protobuf.Int32Value", "google.protobuf.UInt32Value", "google.protobuf.DoubleValue", "google.protobuf.FloatValue":
		return "1"
	case "google.protobuf.BoolValue":
		return "true"
	}
	return "{}"
}

// CheckControl makes cfg's valid call (OK-001) and nothing else: nil when
// the target answered OK; else the error RunSuite gives, ErrControlFailed
// with what in the config most likely does not match.
func CheckControl(ctx context.Context, cfg *Config) error {
	_, err := RunSuite(ctx, cfg, Options{Run: []string{"OK-001"}})
	if errors.Is(err, ErrNothingChecked) {
		return nil // OK-001 passed; nothing else was asked
	}
	return err
}
