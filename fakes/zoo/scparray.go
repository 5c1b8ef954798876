package zoo

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The files team's conventions (scp-array).
const (
	filesGrantHeader    = "x-grant"
	filesIdentityIssuer = "https://id.files.example"
	filesGrantIssuer    = "files-jit"
	filesAudience       = "files-api"
	filesResource       = "reports/"
	filesLeeway         = 10 * time.Second
	filesMaxLifetime    = 4 * time.Hour
	filesMaxBytes       = 8 << 10
)

// filesGrantNames are the grant's claim names, for strict decoding.
var filesGrantNames = append(slices.Clone(registeredNames), "scp", "res")

// filesAPI is files.v1.Files; each request is a Struct naming a path (or a prefix).
func filesAPI() *api {
	field := func(in proto.Message, name string) string {
		return in.(*structpb.Struct).GetFields()[name].GetStringValue()
	}
	return &api{pkg: "files.v1", name: "Files", file: "files/v1/files.proto", rpcs: []rpc{
		{name: "Read", in: &structpb.Struct{}, out: &wrapperspb.BytesValue{},
			unary: func(_ context.Context, in proto.Message) (proto.Message, error) {
				return wrapperspb.Bytes([]byte("contents of " + field(in, "path"))), nil
			}},
		{name: "Delete", in: &structpb.Struct{}, out: &emptypb.Empty{},
			unary: func(context.Context, proto.Message) (proto.Message, error) { return &emptypb.Empty{}, nil }},
		{name: "List", in: &structpb.Struct{}, out: &wrapperspb.StringValue{},
			stream: func(in proto.Message, send func(proto.Message) error) error {
				for _, name := range []string{"q1.csv", "q2.csv"} {
					if err := send(wrapperspb.String(field(in, "prefix") + name)); err != nil {
						return err
					}
				}
				return nil
			}},
	}}
}

// filesPermissions maps the service's methods to scp values.
func filesPermissions() map[string]string {
	a := filesAPI()
	return map[string]string{a.method("Read"): "files:read", a.method("List"): "files:list", a.method("Delete"): "files:delete"}
}

func filesConvention() Convention {
	a := filesAPI()
	read := a.method("Read")
	return Convention{
		Kind: ScpArray, Profile: TwoToken, Service: a.fullName(),
		Unary: Call{read, `{"path":"reports/q1.csv"}`}, Stream: Call{a.method("List"), `{"prefix":"reports/"}`},
		Other: Call{a.method("Delete"), `{"path":"reports/q1.csv"}`}, OutOfScope: &Call{read, `{"path":"payroll/2026.csv"}`},
		Control: healthCheck,
		Identity: &Credential{
			Header: "authorization", Scheme: "Bearer", Issuer: filesIdentityIssuer, Audience: filesAudience,
			Algorithms: []string{EdDSA},
			Key: KeySource{Format: KeyPEMSPKI, Path: filesIdentityPublic,
				PrivateFormat: PrivatePEMPKCS8, PrivatePath: filesIdentityPrivate},
			Required: []string{"sub", "exp", "iat"},
			Claims:   map[string]any{"iss": filesIdentityIssuer, "aud": filesAudience, "sub": "alice"},
			Lifetime: 8 * time.Hour,
		},
		Grant: Credential{
			Header: filesGrantHeader, Issuer: filesGrantIssuer, Audience: filesAudience, AudienceArray: true,
			Algorithms: []string{ES256}, KeyID: filesKeyID, KidRequired: true,
			Key:      KeySource{Format: KeyPEMDir, Path: filesGrantKeyDir, PrivateFormat: PrivatePEMPKCS8, PrivatePath: filesGrantPrivate},
			Required: []string{"sub", "exp", "iat", "nbf", "jti", "scp", "res"},
			Claims: map[string]any{"iss": filesGrantIssuer, "aud": []string{filesAudience}, "sub": "alice",
				"scp": []string{"files:read", "files:list"}, "res": filesResource},
			Lifetime: 15 * time.Minute,
		},
		Subject: "alice",
		Scope: Scope{Claim: "scp", Form: "list", Permissions: filesPermissions(),
			ResourceClaim: "res", ResourceForm: "prefix"},
		Leeway:        filesLeeway,
		MaxLifetime:   filesMaxLifetime,
		MaxTokenBytes: filesMaxBytes,
		Capabilities: []string{CapSizeLimit, CapECDSA, CapAsymmetric, CapKidRequired, CapMaxLifetime,
			CapResourceScope, CapStreamMethod, CapRevocation},
		RevokePath: filesGrantsPrefix + JTIPlaceholder + filesRevokeSuffix,
	}
}

// files guards files.v1.Files the files team's way: golang-jwt with claim
// structs, an EdDSA identity, an ES256 grant whose kid picks a key loaded
// at start from a directory of PEM files (or, given a JWKS URL, from a key
// set refreshed in the background: filesKeyring), an scp array of
// permissions, a res prefix the request's path must be under, and a jti on
// every grant so that it can be revoked.
type files struct {
	bug           Bug
	now           func() time.Time
	http          *http.Client
	identity      ed25519.PublicKey
	grantKeys     filesGrantKeys
	identityRules expectations
	grantRules    expectations
	permissions   map[string]string
	revocations   *filesRevocations
}

// filesIdentity and filesGrant are the tokens' claims; jwt.Claims is
// implemented for golang-jwt's sake only: claims are checked by expectations.
type (
	filesIdentity struct{ stdClaims }
	filesGrant    struct {
		stdClaims
		Scp []string `json:"scp"`
		Res *string  `json:"res"`
	}
)

// The jwt.Claims methods: golang-jwt runs no validation here (the parsers
// use WithoutClaimsValidation), so the times are left to expectations.

func (c *stdClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (c *stdClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (c *stdClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *stdClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *stdClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *stdClaims) GetAudience() (jwt.ClaimStrings, error) {
	if c.Audience == nil {
		return nil, nil
	}
	return c.Audience.values, nil
}

// filesResKey is the context key of the grant's res.
type filesResKey struct{}

func newFiles(bug Bug, opts Options) (*api, guard, error) {
	s := &files{bug: bug, now: opts.Clock, http: opts.HTTPClient, permissions: filesPermissions(),
		revocations: newFilesRevocations(opts)}
	pub, _, err := readPublicPEM(filepath.Join(opts.KeysDir, filesIdentityPublic))
	if err != nil {
		return nil, nil, err
	}
	var ok bool
	if s.identity, ok = pub.(ed25519.PublicKey); !ok {
		return nil, nil, fmt.Errorf("zoo: %s: want an Ed25519 public key", filesIdentityPublic)
	}
	s.identityRules = expectations{issuer: filesIdentityIssuer, audience: filesAudience,
		required: []string{"sub", "exp", "iat"}, leeway: filesLeeway}
	s.grantRules = expectations{issuer: filesGrantIssuer, audience: filesAudience, audArray: true,
		required: []string{"sub", "exp", "iat", "nbf", "jti"}, leeway: filesLeeway, maxLife: filesMaxLifetime, bug: bug}
	if opts.JWKSURL != "" {
		s.grantKeys = newFilesKeyring(opts.JWKSURL, opts.HTTPClient, opts.KeyClock, opts.JWKSRefresh)
		return filesAPI(), s, nil
	}
	dir, err := readKeyDir(filepath.Join(opts.KeysDir, filesGrantKeyDir))
	if err != nil {
		return nil, nil, err
	}
	s.grantKeys = dir
	return filesAPI(), s, nil
}

// close stops the grant key refresher, when there is one.
func (s *files) close() {
	if r, ok := s.grantKeys.(*filesKeyring); ok {
		r.close()
	}
}

// readKeyDir reads every <kid>.pem of dir as a P-256 public key.
func readKeyDir(dir string) (filesKeyDir, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("zoo: grant keys: %w", err)
	}
	keys := make(filesKeyDir)
	for _, e := range entries {
		kid, ok := strings.CutSuffix(e.Name(), ".pem")
		if !ok || e.IsDir() {
			continue
		}
		if keys[kid], _, err = readECPublic(filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("zoo: grant keys: no <kid>.pem in %s", dir)
	}
	return keys, nil
}

func (s *files) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	idRaw, err := bearerToken(md, false)
	if err != nil {
		return nil, s.denyIdentity(err, "")
	}
	id, err := s.parseIdentity(idRaw)
	if err == nil {
		err = s.identityRules.check(&id.stdClaims, s.now())
	}
	if err != nil {
		return nil, s.denyIdentity(err, idRaw)
	}

	raw, err := single(md, filesGrantHeader, "no grant: request access and send the grant in "+filesGrantHeader)
	if err != nil {
		return nil, s.denyGrant(err, "")
	}
	g, err := s.parseGrant(ctx, raw)
	if err == nil {
		err = s.grantRules.check(&g.stdClaims, s.now())
	}
	switch {
	case err != nil:
	case s.revocations.isRevoked(g.ID):
		err = refuse("the grant has been revoked")
	case len(g.Scp) == 0:
		err = refuse("the grant has no scp claim")
	case g.Res == nil || *g.Res == "":
		err = refuse("the grant has no res claim")
	case s.bug != NoSubjectBinding && g.Subject != id.Subject:
		err = refuse("the grant was issued to someone else")
	case !s.allows(g.Scp, s.permissions[fullMethod]):
		err = refuse("the grant's scp lacks " + s.permissions[fullMethod])
	}
	if err != nil {
		return nil, s.denyGrant(err, raw)
	}
	return context.WithValue(ctx, filesResKey{}, *g.Res), nil
}

// adminHandler is the files admin API: grant revocation.
func (s *files) adminHandler() http.Handler { return s.revocations }

// allows reports whether scp grants need.
func (s *files) allows(scp []string, need string) bool {
	switch s.bug {
	case ScopeIgnored:
		return true // BUG scope-ignored: "the broker only issues what was approved".
	case ScopeLookAlike:
		// BUG scope-look-alike: "files:" was meant as a wildcard, and so is every prefix.
		return slices.ContainsFunc(scp, func(p string) bool { return p != "" && strings.HasPrefix(need, p) })
	}
	return slices.Contains(scp, need)
}

// checkRequest refuses a request whose path (or prefix) is not under the grant's res.
func (s *files) checkRequest(ctx context.Context, fullMethod string, req proto.Message) error {
	if s.bug == ResourceIgnored {
		return nil // BUG resource-ignored: the res claim was "for the audit log".
	}
	res, _ := ctx.Value(filesResKey{}).(string)
	field := "path"
	if fullMethod == filesAPI().method("List") {
		field = "prefix"
	}
	st, _ := req.(*structpb.Struct)
	if !underPrefix(st.GetFields()[field].GetStringValue(), res) {
		return statusFor(refuse("the grant does not cover this "+field), codes.PermissionDenied, "grant: ", "", false)
	}
	return nil
}

// underPrefix reports whether path is res or lies under it, refusing . and .. segments.
func underPrefix(path, res string) bool {
	if path == "" || res == "" || slices.ContainsFunc(strings.Split(path, "/"), func(seg string) bool { return seg == "." || seg == ".." }) {
		return false
	}
	base := strings.TrimSuffix(res, "/")
	return path == base || strings.HasPrefix(path, base+"/")
}

func (s *files) denyIdentity(err error, raw string) error {
	code := codes.Unauthenticated
	if s.bug == IdentityPermissionDenied {
		code = codes.PermissionDenied // BUG identity-permission-denied: "denied is denied".
	}
	return statusFor(err, code, "identity: ", raw, s.bug == TokenEcho)
}

func (s *files) denyGrant(err error, raw string) error {
	return statusFor(err, codes.PermissionDenied, "grant: ", raw, s.bug == TokenEcho)
}

// parseIdentity verifies an EdDSA identity token; the grant's bugs do not reach it.
func (s *files) parseIdentity(raw string) (*filesIdentity, error) {
	if len(raw) > filesMaxBytes {
		return nil, refuse("the token is larger than this service reads")
	}
	if _, err := splitCompact(raw, registeredNames, strict); err != nil {
		return nil, err
	}
	var c filesIdentity
	p := jwt.NewParser(jwt.WithValidMethods([]string{EdDSA}), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return s.identity, nil }); err != nil {
		return nil, jwtRefusal(err)
	}
	return &c, nil
}

// parseGrant verifies an ES256 grant.
func (s *files) parseGrant(ctx context.Context, raw string) (*filesGrant, error) {
	if s.bug != NoSizeLimit && len(raw) > filesMaxBytes {
		return nil, refuse("the token is larger than this service reads")
	}
	if s.bug == PanicOnMalformed {
		_ = thirdSegment(raw) // BUG panic-on-malformed: the audit fingerprint comes first.
	}
	if _, err := splitCompact(raw, filesGrantNames, strictnessFor(s.bug)); err != nil {
		return nil, err
	}
	var g filesGrant
	if s.bug == NoSignatureCheck {
		// BUG no-signature-check: "the sidecar verifies grants" (it does not).
		if _, _, err := jwt.NewParser().ParseUnverified(raw, &g); err != nil {
			return nil, jwtRefusal(err)
		}
		return &g, nil
	}
	methods := []string{ES256}
	switch s.bug {
	case AlgNone:
		methods = append(methods, jwt.SigningMethodNone.Alg()) // BUG alg-none: left from a unit test.
	case HS256PublicKey:
		methods = append(methods, HS256) // BUG hs256-public-key: "support the old broker too".
	}
	p := jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(raw, &g, func(t *jwt.Token) (any, error) { return s.grantKey(ctx, t) }); err != nil {
		return nil, jwtRefusal(err)
	}
	return &g, nil
}

// grantKey picks the key that must have signed t.
func (s *files) grantKey(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, refuse("the grant has a crit header this service does not understand")
	}
	kid, _ := t.Header["kid"].(string)
	jku, _ := t.Header["jku"].(string)
	switch {
	case s.bug == AlgNone && t.Method == jwt.SigningMethodNone:
		return jwt.UnsafeAllowNoneSignatureType, nil
	case s.bug == EmbeddedJWK && t.Header["jwk"] != nil:
		return ecdsaFromJWK(t.Header["jwk"]) // BUG embedded-jwk: the grant brings its own key.
	case s.bug == JKUFetched && jku != "":
		// BUG jku-fetched: "the broker may move its keys".
		set, err := fetchJWKS(ctx, s.http, jku)
		if err != nil {
			return nil, refuse("the grant's key set could not be fetched")
		}
		var keys jwt.VerificationKeySet
		for _, k := range set.Keys {
			keys.Keys = append(keys.Keys, k.Key)
		}
		return keys, nil
	case kid == "":
		return nil, refuse("the grant has no kid")
	}
	k, err := s.grantKeys.key(ctx, kid)
	switch {
	case errors.Is(err, errNoGrantKey) && s.bug == UnknownKidFallback:
		// BUG unknown-kid-fallback: "the broker forgets the kid sometimes".
		var keys jwt.VerificationKeySet
		for _, k := range s.grantKeys.all() {
			keys.Keys = append(keys.Keys, k)
		}
		return keys, nil
	case errors.Is(err, errNoGrantKey):
		return nil, refuse("the grant's kid names no key of this service")
	case err != nil:
		return nil, err
	case t.Method.Alg() == HS256: // only with the hs256-public-key bug
		return x509.MarshalPKIXPublicKey(k)
	}
	return k, nil
}

// jwtRefusal turns a golang-jwt error into a refusal.
func jwtRefusal(err error) error {
	var r *refusal
	switch {
	case errors.As(err, &r):
		return r
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refuse("the token is malformed")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse("the signature does not verify, or the algorithm is not accepted")
	}
	return refuse("the token could not be verified")
}
