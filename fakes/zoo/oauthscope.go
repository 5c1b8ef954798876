package zoo

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The shop team's conventions (oauth-scope): RFC 9068 access tokens.
const (
	shopIssuer      = "https://auth.shop.example/"
	shopAudience    = "https://api.shop.example/"
	shopClientID    = "shop-web"
	shopLeeway      = time.Minute
	shopMaxLifetime = 30 * time.Minute
	shopMaxBytes    = 16 << 10
)

// shopClaimNames are the access token's claim names, for strict decoding.
var shopClaimNames = append(slices.Clone(registeredNames), "client_id", "scope")

// shopAPI is shop.v1.Cart.
func shopAPI() *api {
	cart := func() proto.Message {
		s, _ := structpb.NewStruct(map[string]any{"items": []any{"sku-1", "sku-7"}}) // cannot fail on these values
		return s
	}
	return &api{pkg: "shop.v1", name: "Cart", file: "shop/v1/cart.proto", rpcs: []rpc{
		{name: "Get", in: &emptypb.Empty{}, out: &structpb.Struct{},
			unary: func(context.Context, proto.Message) (proto.Message, error) { return cart(), nil }},
		{name: "AddItem", in: &wrapperspb.StringValue{}, out: &emptypb.Empty{},
			unary: func(context.Context, proto.Message) (proto.Message, error) { return &emptypb.Empty{}, nil }},
		{name: "Watch", in: &emptypb.Empty{}, out: &structpb.Struct{},
			stream: func(_ proto.Message, send func(proto.Message) error) error {
				if err := send(cart()); err != nil {
					return err
				}
				return send(cart())
			}},
	}}
}

// shopPermissions maps the cart's methods to OAuth scope values.
func shopPermissions() map[string]string {
	a := shopAPI()
	return map[string]string{a.method("Get"): "cart.read", a.method("Watch"): "cart.read", a.method("AddItem"): "cart.write"}
}

func shopConvention() Convention {
	a := shopAPI()
	return Convention{
		Kind: OAuthScope, Profile: SingleToken, Service: a.fullName(),
		Unary: Call{a.method("Get"), "{}"}, Stream: Call{a.method("Watch"), "{}"}, Other: Call{a.method("AddItem"), `"sku-9"`},
		Control: healthCheck,
		Grant: Credential{
			Header: "authorization", Scheme: "Bearer", Issuer: shopIssuer, Audience: shopAudience,
			Algorithms: []string{RS256}, Typ: "at+jwt", KeyID: shopKeyID, KidRequired: true,
			Key: KeySource{Format: KeyJWKSURL, PrivateFormat: PrivateJWKS, PrivatePath: shopPrivateJWKS,
				CacheMaxAge: jwksMaxAge, UnknownKidTTL: jwksUnknownKidTTL,
				MaxRefetches: jwksMaxRefetches, RefetchWindow: jwksRefetchWindow},
			Required: []string{"sub", "exp", "iat", "jti", "client_id", "scope"},
			Claims: map[string]any{"iss": shopIssuer, "aud": shopAudience, "sub": "alice", "client_id": shopClientID,
				"scope": "cart.read"},
			Lifetime: 5 * time.Minute,
		},
		Subject:       "alice",
		Scope:         Scope{Claim: "scope", Form: "space-delimited", Permissions: shopPermissions()},
		Leeway:        shopLeeway,
		MaxLifetime:   shopMaxLifetime,
		MaxTokenBytes: shopMaxBytes,
		Capabilities: []string{CapSizeLimit, CapAsymmetric, CapKidRequired, CapKeySource, CapMaxLifetime,
			CapTypChecked, CapStreamMethod, CapSuiteKeys},
	}
}

// shop guards shop.v1.Cart the shop team's way: one RFC 9068 access token
// verified with go-jose against keys fetched from the IdP's JWKS URL, and
// an OAuth scope per method. Every token fault is UNAUTHENTICATED
// (invalid_token); a scope too narrow is PERMISSION_DENIED
// (insufficient_scope).
type shop struct {
	bug         Bug
	now         func() time.Time
	http        *http.Client
	keys        *jwksCache
	rules       expectations
	permissions map[string]string
}

// shopClaims are the access token's claims.
type shopClaims struct {
	stdClaims
	ClientID string  `json:"client_id"`
	Scope    *string `json:"scope"`
}

func newShop(bug Bug, opts Options) (*api, guard, error) {
	if opts.JWKSURL == "" {
		return nil, nil, errors.New("zoo: oauth-scope needs the JWKS URL it fetches its keys from")
	}
	s := &shop{bug: bug, now: opts.Clock, http: opts.HTTPClient, permissions: shopPermissions(),
		keys: newJWKSCache(opts.JWKSURL, opts.HTTPClient, opts.Clock, opts.JWKSMaxAge),
		rules: expectations{issuer: shopIssuer, audience: shopAudience, required: []string{"sub", "exp", "iat", "jti"},
			leeway: shopLeeway, maxLife: shopMaxLifetime, bug: bug}}
	return shopAPI(), s, nil
}

func (s *shop) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	raw, err := bearerToken(md, true)
	if err != nil {
		return nil, s.deny(err, "")
	}
	c, err := s.verify(ctx, raw)
	if err == nil {
		err = s.rules.check(&c.stdClaims, s.now())
	}
	if err == nil && c.ClientID == "" {
		err = refuse("the token has no client_id claim")
	}
	if err != nil {
		return nil, s.deny(err, raw)
	}
	if need := s.permissions[fullMethod]; !s.allows(c.Scope, need) {
		return nil, statusFor(refuse("the token's scope lacks "+need), codes.PermissionDenied, "insufficient_scope: ", raw, s.bug == TokenEcho)
	}
	return ctx, nil
}

// allows reports whether scope grants need.
func (s *shop) allows(scope *string, need string) bool {
	switch {
	case s.bug == ScopeIgnored:
		return true // BUG scope-ignored: "the IdP only issues tokens to our own apps".
	case scope == nil:
		return false
	case s.bug == ScopeLookAlike:
		return strings.Contains(*scope, need) // BUG scope-look-alike: cart.readonly contains cart.read.
	}
	return slices.Contains(strings.Split(*scope, " "), need)
}

func (*shop) checkRequest(context.Context, string, proto.Message) error { return nil }

func (s *shop) deny(err error, raw string) error {
	return statusFor(err, codes.Unauthenticated, "invalid_token: ", raw, s.bug == TokenEcho)
}

// verify checks raw and returns its claims.
func (s *shop) verify(ctx context.Context, raw string) (*shopClaims, error) {
	if s.bug != NoSizeLimit && len(raw) > shopMaxBytes {
		return nil, refuse("the token is larger than this service reads")
	}
	if s.bug == PanicOnMalformed {
		_ = thirdSegment(raw) // BUG panic-on-malformed: the audit fingerprint comes first.
	}
	tok, err := splitCompact(raw, shopClaimNames, strictnessFor(s.bug))
	if err != nil {
		return nil, err
	}
	var payload []byte
	switch {
	case s.bug == AlgNone && strings.EqualFold(tok.str("alg"), "none"):
		payload = tok.payload // BUG alg-none: "the gateway strips signatures on the internal hop".
	case s.bug == NoSignatureCheck:
		payload = tok.payload // BUG no-signature-check: "the gateway already verified it".
	default:
		if payload, err = s.verifySignature(ctx, raw, tok); err != nil {
			return nil, err
		}
	}
	if typ := tok.str("typ"); s.bug != TypIgnored && !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, refuse("the token is not an access token (typ at+jwt)")
	}
	var c shopClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, refuse("the claims are malformed")
	}
	return &c, nil
}

// verifySignature verifies raw with go-jose and returns its payload.
func (s *shop) verifySignature(ctx context.Context, raw string, tok *compact) ([]byte, error) {
	algs := []jose.SignatureAlgorithm{jose.RS256}
	switch s.bug {
	case AlgNotPinned:
		// BUG alg-not-pinned: "any RSA algorithm our IdP might switch to".
		algs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	case HS256PublicKey:
		algs = append(algs, jose.HS256) // BUG hs256-public-key: a partner once sent HS256.
	}
	if tok.has("crit") {
		return nil, refuse("the token has a crit header this service does not understand")
	}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return nil, refuse("the token is malformed or not signed with RS256")
	}
	h := jws.Signatures[0].Header
	switch {
	case s.bug == EmbeddedJWK && h.JSONWebKey != nil:
		return verified(jws.Verify(h.JSONWebKey)) // BUG embedded-jwk: the token brings its own key.
	case s.bug == JKUFetched && tok.str("jku") != "":
		// BUG jku-fetched: "federation": the token says where its key is.
		set, err := fetchJWKS(ctx, s.http, tok.str("jku"))
		if err != nil {
			return nil, refuse("the token's key set could not be fetched")
		}
		return verifyAny(jws, set.Keys)
	case h.KeyID == "":
		return nil, refuse("the token has no kid")
	}
	k, err := s.keys.lookup(ctx, h.KeyID)
	switch {
	case errors.Is(err, errUnknownKid) && s.bug == UnknownKidFallback:
		return verifyAny(jws, s.keys.all(ctx)) // BUG unknown-kid-fallback: "rotation is hard".
	case errors.Is(err, errUnknownKid):
		return nil, refuse("the token's kid names no key of the identity provider")
	case err != nil:
		return nil, err
	}
	if h.Algorithm == string(jose.HS256) {
		der, err := x509.MarshalPKIXPublicKey(k.Key)
		if err != nil {
			return nil, refuse("the signature does not verify")
		}
		return verified(jws.Verify(der))
	}
	if s.bug != AlgNotPinned && ((k.Algorithm != "" && k.Algorithm != RS256) || (k.Use != "" && k.Use != "sig")) {
		return nil, refuse("the key the kid names is not an RS256 signing key")
	}
	pub, ok := k.Key.(*rsa.PublicKey)
	if !ok {
		return nil, refuse("the key the kid names is not an RSA key")
	}
	return verified(jws.Verify(pub))
}

// verifyAny verifies jws with the first of keys that works.
func verifyAny(jws *jose.JSONWebSignature, keys []jose.JSONWebKey) ([]byte, error) {
	for _, k := range keys {
		if payload, err := jws.Verify(k.Key); err == nil {
			return payload, nil
		}
	}
	return nil, refuse("the signature does not verify")
}

// verified turns go-jose's verification error into a refusal.
func verified(payload []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, refuse("the signature does not verify")
	}
	return payload, nil
}
