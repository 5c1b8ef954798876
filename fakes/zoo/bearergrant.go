package zoo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The payouts team's conventions (bearer-grant).
const (
	payoutsGrantHeader    = "x-jit-grant"
	payoutsIdentityIssuer = "payments-sso"
	payoutsGrantIssuer    = "payments-jit"
	payoutsAudience       = "payouts"
	payoutsLeeway         = 5 * time.Second
	payoutsMaxLifetime    = 10 * time.Minute
	payoutsMaxBytes       = 4 << 10
	// payoutsMaxRegister bounds the one-shot register; past it, new one-shot grants are refused.
	payoutsMaxRegister = 100_000
)

// payoutsGrantNames are the grant's claim names, for strict decoding.
var payoutsGrantNames = append(slices.Clone(registeredNames), "permissions", "once")

// payoutsAPI is payments.v1.Payouts.
func payoutsAPI() *api {
	return &api{pkg: "payments.v1", name: "Payouts", file: "payments/v1/payouts.proto", rpcs: []rpc{
		{name: "Send", in: &wrapperspb.Int64Value{}, out: &wrapperspb.StringValue{},
			unary: func(_ context.Context, in proto.Message) (proto.Message, error) {
				return wrapperspb.String("payout of " + strconv.FormatInt(in.(*wrapperspb.Int64Value).GetValue(), 10) + " sent"), nil
			}},
		{name: "Cancel", in: &wrapperspb.StringValue{}, out: &emptypb.Empty{},
			unary: func(context.Context, proto.Message) (proto.Message, error) { return &emptypb.Empty{}, nil }},
		{name: "Tail", in: &emptypb.Empty{}, out: &wrapperspb.StringValue{},
			stream: func(_ proto.Message, send func(proto.Message) error) error {
				for _, p := range []string{"payout 1: sent", "payout 2: sent"} {
					if err := send(wrapperspb.String(p)); err != nil {
						return err
					}
				}
				return nil
			}},
	}}
}

// payoutsPermission is the permission a method needs: its name in dotted form.
func payoutsPermission(fullMethod string) string {
	return strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", ".")
}

func payoutsConvention() Convention {
	a := payoutsAPI()
	send, cancel, tail := a.method("Send"), a.method("Cancel"), a.method("Tail")
	perms := map[string]string{}
	for _, m := range []string{send, cancel, tail} {
		perms[m] = payoutsPermission(m)
	}
	return Convention{
		Kind: BearerGrant, Profile: TwoToken, Service: a.fullName(),
		Unary: Call{send, `"125"`}, Stream: Call{tail, "{}"}, Other: Call{cancel, `"p-1"`},
		Control: healthCheck,
		Identity: &Credential{
			Header: "authorization", Scheme: "Bearer", Issuer: payoutsIdentityIssuer, Audience: payoutsAudience,
			Algorithms: []string{HS256},
			Key:        KeySource{Format: KeySecretFile, Path: payoutsIdentitySecret, PrivateFormat: KeySecretFile, PrivatePath: payoutsIdentitySecret},
			Required:   []string{"sub", "exp", "iat"},
			Claims:     map[string]any{"iss": payoutsIdentityIssuer, "aud": payoutsAudience, "sub": "alice"},
			Lifetime:   time.Hour,
		},
		Grant: Credential{
			Header: payoutsGrantHeader, Scheme: "Bearer", Issuer: payoutsGrantIssuer, Audience: payoutsAudience,
			Algorithms: []string{HS256},
			Key:        KeySource{Format: KeySecretFile, Path: payoutsGrantSecret, PrivateFormat: KeySecretFile, PrivatePath: payoutsGrantSecret},
			Required:   []string{"sub", "exp", "iat", "jti", "permissions"},
			Claims: map[string]any{"iss": payoutsGrantIssuer, "aud": payoutsAudience, "sub": "alice",
				"permissions": []string{perms[send], perms[tail]}},
			Lifetime: 2 * time.Minute,
		},
		Subject:         "alice",
		Scope:           Scope{Claim: "permissions", Form: "list", Permissions: perms, OneShotClaim: "once"},
		Leeway:          payoutsLeeway,
		MaxLifetime:     payoutsMaxLifetime,
		MaxTokenBytes:   payoutsMaxBytes,
		Capabilities:    []string{CapSizeLimit, CapMaxLifetime, CapOneShot, CapStreamMethod, CapRevocation},
		RevokePath:      payoutsRevokePath + "?jti=" + JTIPlaceholder,
		RevocationDelay: payoutsRevocationDelay,
	}
}

// payouts guards payments.v1.Payouts the payouts team's way: golang-jwt
// with map claims, HS256 secrets read from files, the grant sent as
// "x-jit-grant: Bearer <jwt>", a permissions list of dotted method names,
// one-shot grants (once: true) remembered by jti until they expire, and a
// replicated deny list of revoked jtis.
type payouts struct {
	bug           Bug
	now           func() time.Time
	keysDir       string
	identityKey   []byte
	grantKey      []byte
	identityRules expectations
	grantRules    expectations
	deny          *payoutsDenyList

	mu   sync.Mutex
	used map[string]time.Time // one-shot jti → when it may be forgotten
}

func newPayouts(bug Bug, opts Options) (*api, guard, error) {
	s := &payouts{bug: bug, now: opts.Clock, keysDir: opts.KeysDir, used: make(map[string]time.Time),
		deny: newPayoutsDenyList(opts)}
	var err error
	if s.identityKey, err = readSecret(filepath.Join(opts.KeysDir, payoutsIdentitySecret)); err != nil {
		return nil, nil, err
	}
	if s.grantKey, err = readSecret(filepath.Join(opts.KeysDir, payoutsGrantSecret)); err != nil {
		return nil, nil, err
	}
	s.identityRules = expectations{issuer: payoutsIdentityIssuer, audience: payoutsAudience,
		required: []string{"sub", "exp", "iat"}, leeway: payoutsLeeway}
	s.grantRules = expectations{issuer: payoutsGrantIssuer, audience: payoutsAudience,
		required: []string{"sub", "exp", "iat", "jti"}, leeway: payoutsLeeway, maxLife: payoutsMaxLifetime, bug: bug}
	return payoutsAPI(), s, nil
}

func (s *payouts) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	idRaw, err := bearerToken(md, false)
	if err != nil {
		return nil, s.denyIdentity(err, "")
	}
	id, err := s.parse(idRaw, s.identityKey, registeredNames, None)
	if err == nil {
		err = s.identityRules.check(&id.std, s.now())
	}
	if err != nil {
		return nil, s.denyIdentity(err, idRaw)
	}

	value, err := single(md, payoutsGrantHeader, "no grant: request access and send "+payoutsGrantHeader+": Bearer <grant>")
	if err != nil {
		return nil, s.denyGrant(err, "")
	}
	raw, ok := strings.CutPrefix(value, "Bearer ")
	if !ok {
		return nil, s.denyGrant(refuse(payoutsGrantHeader+" must be Bearer <grant>"), value)
	}
	g, err := s.parse(raw, s.grantKey, payoutsGrantNames, s.bug)
	if err == nil {
		err = s.grantRules.check(&g.std, s.now())
	}
	need := payoutsPermission(fullMethod)
	switch {
	case err != nil:
	case s.deny.denies(g.std.ID):
		err = refuse("the grant was revoked")
	case len(g.permissions) == 0:
		err = refuse("the grant has no permissions claim")
	case s.bug != NoSubjectBinding && g.std.Subject != id.std.Subject:
		err = refuse("the grant was issued to someone else")
	case !s.allows(g.permissions, need):
		err = refuse("the grant's permissions lack " + need)
	case g.once && s.bug != OnceIgnored: // BUG once-ignored: the register was "phase two".
		err = s.useOnce(g)
	}
	if err != nil {
		return nil, s.denyGrant(err, raw)
	}
	return ctx, nil
}

// allows reports whether permissions grant need.
func (s *payouts) allows(permissions []string, need string) bool {
	switch s.bug {
	case ScopeIgnored:
		return true // BUG scope-ignored: "approval is the control".
	case ScopeLookAlike:
		// BUG scope-look-alike: a substring match "to allow Send and SendBatch".
		return slices.ContainsFunc(permissions, func(p string) bool { return strings.Contains(p, need) })
	}
	return slices.Contains(permissions, need)
}

// useOnce registers a one-shot grant's jti, refusing one seen before.
func (s *payouts) useOnce(g *payoutsClaims) error {
	if g.std.ID == "" {
		return refuse("a one-shot grant needs a jti")
	}
	now := s.now()
	exp, err := g.std.Expiry.time()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for jti, forget := range s.used {
		if now.After(forget) {
			delete(s.used, jti)
		}
	}
	if _, seen := s.used[g.std.ID]; seen {
		return refuse("the one-shot grant was already used")
	}
	if len(s.used) >= payoutsMaxRegister {
		return refuse("too many one-shot grants in flight; retry later")
	}
	s.used[g.std.ID] = exp.Add(payoutsLeeway)
	return nil
}

// adminHandler is the payouts ops API: the deny list's revocation endpoint.
func (s *payouts) adminHandler() http.Handler { return s.deny.handler() }

func (*payouts) checkRequest(context.Context, string, proto.Message) error { return nil }

func (s *payouts) denyIdentity(err error, raw string) error {
	code := codes.Unauthenticated
	if s.bug == IdentityPermissionDenied {
		code = codes.PermissionDenied // BUG identity-permission-denied: "denied is denied".
	}
	return statusFor(err, code, "identity: ", raw, s.bug == TokenEcho)
}

func (s *payouts) denyGrant(err error, raw string) error {
	return statusFor(err, codes.PermissionDenied, "grant: ", raw, s.bug == TokenEcho)
}

// payoutsClaims are a token's claims read from golang-jwt's map.
type payoutsClaims struct {
	std         stdClaims
	permissions []string
	once        bool
}

// parse verifies raw with secret and reads its claims; bug is the build's
// for grants and None for identities, which the grant's bugs do not reach.
func (s *payouts) parse(raw string, secret []byte, names []string, bug Bug) (*payoutsClaims, error) {
	if bug != NoSizeLimit && len(raw) > payoutsMaxBytes {
		return nil, refuse("the token is larger than this service reads")
	}
	if bug == PanicOnMalformed {
		_ = thirdSegment(raw) // BUG panic-on-malformed: the audit fingerprint comes first.
	}
	if _, err := splitCompact(raw, names, strictnessFor(bug)); err != nil {
		return nil, err
	}
	m := jwt.MapClaims{}
	if bug == NoSignatureCheck {
		// BUG no-signature-check: "HMAC is slow" (it is not).
		if _, _, err := jwt.NewParser(jwt.WithJSONNumber()).ParseUnverified(raw, m); err != nil {
			return nil, jwtRefusal(err)
		}
		return s.claims(m, bug)
	}
	methods := []string{HS256}
	switch bug {
	case AlgNone:
		methods = append(methods, jwt.SigningMethodNone.Alg()) // BUG alg-none: left from a unit test.
	case AlgNotPinned:
		methods = append(methods, "HS384", "HS512") // BUG alg-not-pinned: "any HMAC is fine".
	}
	p := jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(raw, m, func(t *jwt.Token) (any, error) { return s.key(t, secret, bug) }); err != nil {
		return nil, jwtRefusal(err)
	}
	return s.claims(m, bug)
}

// key picks the secret that must have signed t.
func (s *payouts) key(t *jwt.Token, secret []byte, bug Bug) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, refuse("the token has a crit header this service does not understand")
	}
	kid, _ := t.Header["kid"].(string)
	switch {
	case bug == AlgNone && t.Method == jwt.SigningMethodNone:
		return jwt.UnsafeAllowNoneSignatureType, nil
	case bug == EmbeddedJWK && t.Header["jwk"] != nil:
		// BUG embedded-jwk: an oct jwk in the header is taken as the secret.
		var jwk struct {
			Kty string `json:"kty"`
			K   string `json:"k"`
		}
		if remarshal(t.Header["jwk"], &jwk) != nil || jwk.Kty != "oct" {
			return nil, refuse("the embedded key is not an oct key")
		}
		return base64.RawURLEncoding.DecodeString(jwk.K)
	case bug == KidPathTraversal && kid != "":
		// BUG kid-path-traversal: "kid names the secret file, for multi-tenancy".
		b, err := os.ReadFile(filepath.Join(s.keysDir, kid))
		if err != nil {
			return nil, refuse("the grant's kid names no secret")
		}
		return b, nil
	}
	return secret, nil
}

// claims reads m, refusing claims of the wrong type; with the
// case-insensitive-claims bug a key differing only in case stands in for a
// missing claim.
func (s *payouts) claims(m jwt.MapClaims, bug Bug) (*payoutsClaims, error) {
	get := func(name string) (any, bool) {
		if v, ok := m[name]; ok {
			return v, true
		}
		if bug != CaseInsensitiveClaims {
			return nil, false
		}
		// BUG case-insensitive-claims: "clients spell claims all kinds of ways".
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			if strings.EqualFold(k, name) {
				return m[k], true
			}
		}
		return nil, false
	}
	var c payoutsClaims
	bad := func(name string) error { return refuse("the " + name + " claim has the wrong type") }
	for name, into := range map[string]*string{"iss": &c.std.Issuer, "sub": &c.std.Subject, "jti": &c.std.ID} {
		if v, ok := get(name); ok {
			s, isStr := v.(string)
			if !isStr {
				return nil, bad(name)
			}
			*into = s
		}
	}
	for name, into := range map[string]**numericDate{"exp": &c.std.Expiry, "nbf": &c.std.NotBefore, "iat": &c.std.IssuedAt} {
		if v, ok := get(name); ok {
			n, isNum := v.(json.Number)
			if !isNum {
				return nil, bad(name)
			}
			f, err := strconv.ParseFloat(n.String(), 64)
			if err != nil {
				return nil, bad(name)
			}
			*into = &numericDate{secs: f}
		}
	}
	if v, ok := get("aud"); ok {
		c.std.Audience = &audience{}
		if remarshal(v, c.std.Audience) != nil {
			return nil, bad("aud")
		}
	}
	if v, ok := get("permissions"); ok {
		if remarshal(v, &c.permissions) != nil {
			return nil, bad("permissions")
		}
	}
	if v, ok := get("once"); ok {
		b, isBool := v.(bool)
		if !isBool {
			return nil, bad("once")
		}
		c.once = b
	}
	return &c, nil
}
