package zoo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The orders team's conventions (methods-list).
const (
	ordersGrantHeader    = "x-access-grant"
	ordersIdentityIssuer = "https://idp.orders.example"
	ordersGrantIssuer    = "orders-approvals"
	ordersAudience       = "orders-api"
	ordersLeeway         = 30 * time.Second
	ordersMaxLifetime    = time.Hour
	ordersMaxBytes       = 8 << 10
)

// ordersGrantNames are the grant's claim names, for strict decoding.
var ordersGrantNames = append(slices.Clone(registeredNames), "methods")

// ordersAPI is orders.v1.Orders.
func ordersAPI() *api {
	str := func(in proto.Message) string { return in.(*wrapperspb.StringValue).GetValue() }
	return &api{pkg: "orders.v1", name: "Orders", file: "orders/v1/orders.proto", rpcs: []rpc{
		{name: "GetOrder", in: &wrapperspb.StringValue{}, out: &wrapperspb.StringValue{},
			unary: func(_ context.Context, in proto.Message) (proto.Message, error) {
				return wrapperspb.String("order " + str(in) + ": shipped"), nil
			}},
		{name: "CancelOrder", in: &wrapperspb.StringValue{}, out: &emptypb.Empty{},
			unary: func(context.Context, proto.Message) (proto.Message, error) { return &emptypb.Empty{}, nil }},
		{name: "WatchOrders", in: &wrapperspb.StringValue{}, out: &wrapperspb.StringValue{},
			stream: func(in proto.Message, send func(proto.Message) error) error {
				for _, state := range []string{"placed", "shipped"} {
					if err := send(wrapperspb.String(str(in) + ": " + state)); err != nil {
						return err
					}
				}
				return nil
			}},
	}}
}

func ordersConvention() Convention {
	a := ordersAPI()
	get, cancel, watch := a.method("GetOrder"), a.method("CancelOrder"), a.method("WatchOrders")
	return Convention{
		Kind: MethodsList, Profile: TwoToken, Service: a.fullName(),
		Unary: Call{get, `"A-1001"`}, Stream: Call{watch, `"alice"`}, Other: Call{cancel, `"A-1001"`},
		Control: healthCheck,
		Identity: &Credential{
			Header: "authorization", Scheme: "Bearer", Issuer: ordersIdentityIssuer, Audience: ordersAudience,
			Algorithms: []string{ES256},
			Key: KeySource{Format: KeyPEMSPKI, Path: ordersIdentityPublic,
				PrivateFormat: PrivatePEMPKCS8, PrivatePath: ordersIdentityPrivate},
			Required: []string{"sub", "exp", "iat"},
			Claims:   map[string]any{"iss": ordersIdentityIssuer, "aud": ordersAudience, "sub": "alice"},
			Lifetime: time.Hour,
		},
		Grant: Credential{
			Header: ordersGrantHeader, Issuer: ordersGrantIssuer, Audience: ordersAudience,
			Algorithms: []string{ES256},
			Key: KeySource{Format: KeyPEMSPKI, Path: ordersGrantPublic,
				PrivateFormat: PrivatePEMSEC1, PrivatePath: ordersGrantPrivate},
			Required: []string{"sub", "exp", "iat", "methods"},
			Claims: map[string]any{"iss": ordersGrantIssuer, "aud": ordersAudience, "sub": "alice",
				"methods": []string{get, watch}},
			Lifetime: 10 * time.Minute,
		},
		Subject:       "alice",
		Scope:         Scope{Claim: "methods", Form: "list", Permissions: map[string]string{get: get, cancel: cancel, watch: watch}},
		Leeway:        ordersLeeway,
		MaxLifetime:   ordersMaxLifetime,
		MaxTokenBytes: ordersMaxBytes,
		Capabilities:  []string{CapSizeLimit, CapECDSA, CapAsymmetric, CapMaxLifetime, CapStreamMethod},
	}
}

// orders guards orders.v1.Orders the orders team's way: a hand-written JWT
// check on the standard library, one ES256 key per token kind read from a
// PEM file, kid ignored, the grant's methods compared with the call.
type orders struct {
	bug             Bug
	now             func() time.Time
	http            *http.Client
	identity, grant ordersKey
	identityRules   expectations
	grantRules      expectations
}

// ordersKey is a public key and its PEM file as read.
type ordersKey struct {
	pub *ecdsa.PublicKey
	pem []byte
}

// ordersIdentity and ordersGrant are the tokens' claims.
type (
	ordersIdentity struct{ stdClaims }
	ordersGrant    struct {
		stdClaims
		Methods []string `json:"methods"`
	}
)

func newOrders(bug Bug, opts Options) (*api, guard, error) {
	s := &orders{bug: bug, now: opts.Clock, http: opts.HTTPClient}
	var err error
	if s.identity.pub, s.identity.pem, err = readECPublic(filepath.Join(opts.KeysDir, ordersIdentityPublic)); err != nil {
		return nil, nil, err
	}
	if s.grant.pub, s.grant.pem, err = readECPublic(filepath.Join(opts.KeysDir, ordersGrantPublic)); err != nil {
		return nil, nil, err
	}
	s.identityRules = expectations{issuer: ordersIdentityIssuer, audience: ordersAudience,
		required: []string{"sub", "exp", "iat"}, leeway: ordersLeeway}
	s.grantRules = expectations{issuer: ordersGrantIssuer, audience: ordersAudience,
		required: []string{"sub", "exp", "iat"}, leeway: ordersLeeway, maxLife: ordersMaxLifetime, bug: bug}
	return ordersAPI(), s, nil
}

func (s *orders) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	idRaw, err := bearerToken(md, true)
	if err != nil {
		return nil, s.denyIdentity(err, "")
	}
	var id ordersIdentity
	if err := s.verify(ctx, idRaw, s.identity, registeredNames, &id); err != nil {
		return nil, s.denyIdentity(err, idRaw)
	}
	if err := s.identityRules.check(&id.stdClaims, s.now()); err != nil {
		return nil, s.denyIdentity(err, idRaw)
	}

	raw, err := single(md, ordersGrantHeader, "no access grant: request one and send it in "+ordersGrantHeader)
	if err != nil {
		return nil, s.denyGrant(err, "")
	}
	var g ordersGrant
	if err := s.verify(ctx, raw, s.grant, ordersGrantNames, &g); err != nil {
		return nil, s.denyGrant(err, raw)
	}
	if err := s.grantRules.check(&g.stdClaims, s.now()); err != nil {
		return nil, s.denyGrant(err, raw)
	}
	if len(g.Methods) == 0 {
		return nil, s.denyGrant(refuse("the grant has no methods claim"), raw)
	}
	if s.bug != NoSubjectBinding && g.Subject != id.Subject {
		return nil, s.denyGrant(refuse("the grant was issued to someone else"), raw)
	}
	if !s.allows(g.Methods, fullMethod) {
		return nil, s.denyGrant(refuse("the grant does not list "+fullMethod), raw)
	}
	return ctx, nil
}

// allows reports whether methods grant fullMethod.
func (s *orders) allows(methods []string, fullMethod string) bool {
	switch s.bug {
	case ScopeIgnored:
		return true // BUG scope-ignored: "an approved grant is an approved grant".
	case ScopeLookAlike:
		// BUG scope-look-alike: meant to allow versioned names, lets
		// /orders.v1.Orders/GetOrders grant GetOrder.
		return slices.ContainsFunc(methods, func(m string) bool { return strings.HasPrefix(m, fullMethod) })
	}
	return slices.Contains(methods, fullMethod)
}

func (*orders) checkRequest(context.Context, string, proto.Message) error { return nil }

func (s *orders) denyIdentity(err error, raw string) error {
	code := codes.Unauthenticated
	if s.bug == IdentityPermissionDenied {
		code = codes.PermissionDenied // BUG identity-permission-denied: "denied is denied".
	}
	return statusFor(err, code, "identity: ", raw, s.bug == TokenEcho)
}

func (s *orders) denyGrant(err error, raw string) error {
	return statusFor(err, codes.PermissionDenied, "access grant: ", raw, s.bug == TokenEcho)
}

// verify checks raw's form and signature and decodes its claims into into;
// names are the claim names decoded strictly.
func (s *orders) verify(ctx context.Context, raw string, key ordersKey, names []string, into any) error {
	if s.bug != NoSizeLimit && len(raw) > ordersMaxBytes {
		return refuse("the token is larger than this service reads")
	}
	if s.bug == PanicOnMalformed {
		_ = thirdSegment(raw) // BUG panic-on-malformed: the audit fingerprint comes first.
	}
	tok, err := splitCompact(raw, names, strictnessFor(s.bug))
	if err != nil {
		return err
	}
	if tok.has("crit") {
		return refuse("the token has a crit header this service does not understand")
	}
	alg := tok.str("alg")
	switch {
	case s.bug == AlgNone && strings.EqualFold(alg, "none"):
		// BUG alg-none: unsigned tokens were allowed "for the local stack".
	case s.bug == HS256PublicKey && alg == HS256:
		// BUG hs256-public-key: the key file goes to whatever algorithm the token names.
		mac := hmac.New(sha256.New, key.pem)
		mac.Write([]byte(tok.input))
		if !hmac.Equal(mac.Sum(nil), tok.sig) {
			return refuse("the signature does not verify")
		}
	case s.bug == EmbeddedJWK && tok.has("jwk"):
		// BUG embedded-jwk: the token brings its own key.
		pub, err := ecdsaFromJWK(tok.header["jwk"])
		if err != nil || !verifyES256(pub, tok, false) {
			return refuse("the signature does not verify")
		}
	case s.bug == JKUFetched && tok.str("jku") != "":
		// BUG jku-fetched: the token says where its key is, and it is believed.
		if err := s.verifyByJKU(ctx, tok); err != nil {
			return err
		}
	case alg != ES256:
		return refuse("the token is not signed with ES256")
	case s.bug == NoSignatureCheck:
		// BUG no-signature-check: the claims are read, the signature never.
	case !verifyES256(key.pub, tok, s.bug == PsychicSignature):
		return refuse("the signature does not verify")
	}
	if err := json.Unmarshal(tok.payload, into); err != nil {
		return refuse("the claims are malformed")
	}
	return nil
}

// verifyByJKU verifies tok with a P-256 key of the set its jku names.
func (s *orders) verifyByJKU(ctx context.Context, tok *compact) error {
	set, err := fetchJWKS(ctx, s.http, tok.str("jku"))
	if err != nil {
		return refuse("the token's key set could not be fetched")
	}
	for _, k := range set.Keys {
		if pub, ok := k.Key.(*ecdsa.PublicKey); ok && verifyES256(pub, tok, false) {
			return nil
		}
	}
	return refuse("the signature does not verify")
}

// verifyES256 checks tok's 64-byte r‖s signature with pub; psychic (the
// psychic-signature bug) accepts r = s = 0.
func verifyES256(pub *ecdsa.PublicKey, tok *compact, psychic bool) bool {
	if pub == nil || len(tok.sig) != 64 {
		return false
	}
	r, sv := new(big.Int).SetBytes(tok.sig[:32]), new(big.Int).SetBytes(tok.sig[32:])
	if psychic && r.Sign() == 0 && sv.Sign() == 0 {
		return true // BUG psychic-signature: the range check was "an optimisation".
	}
	digest := sha256.Sum256([]byte(tok.input))
	return ecdsa.Verify(pub, digest[:], r, sv)
}

// ecdsaFromJWK reads a header's embedded jwk as a P-256 public key.
func ecdsaFromJWK(v any) (*ecdsa.PublicKey, error) {
	var k jose.JSONWebKey
	if err := remarshal(v, &k); err != nil {
		return nil, err
	}
	pub, ok := k.Key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, refuse("the embedded key is not a P-256 key")
	}
	return pub, nil
}

// remarshal decodes v, a decoded JSON value, into out.
func remarshal(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
