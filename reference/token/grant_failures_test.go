package token_test

import (
	"crypto/elliptic"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// grantCase is one refused grant: a token crafted against a fixture, the
// verifier config and request it is presented with, and the expected reason.
type grantCase struct {
	id   string // conformance id, when the case implements one
	name string
	raw  func(f *fixture) string
	cfg  func(*token.Config)
	req  func(*token.Request)
	want reason.Reason
}

// pinHS256 pins HS256 next to the defaults, as a deployment that configures it would.
func pinHS256(c *token.Config) {
	c.Algorithms = []string{token.EdDSA, token.ES256, token.HS256}
}

// grantFailures lists every refusal the grant verifier can produce. The fuzz
// target reuses the tokens as its seed corpus.
func grantFailures() []grantCase {
	dots := strings.Repeat(".", 64<<10)
	return []grantCase{
		{id: "SCP-004", name: "no grant", raw: func(*fixture) string { return "" }, want: reason.GrantMissing},

		// FMT: shape and encoding.
		{id: "FMT-001", name: "one segment", raw: func(*fixture) string { return "eyJhbGciOiJFZERTQSJ9" }, want: reason.GrantMalformed},
		{id: "FMT-001", name: "two segments", raw: func(f *fixture) string {
			h, p, _ := parts(f.tb, f.grant())
			return h + "." + p
		}, want: reason.GrantMalformed},
		{id: "FMT-001", name: "four segments", raw: func(f *fixture) string { return f.grant() + ".e30" }, want: reason.GrantMalformed},
		{id: "FMT-001", name: "JWE-like five segments", raw: func(*fixture) string { return "a.b.c.d.e" }, want: reason.GrantMalformed},
		{id: "FMT-001", name: "two dots only", raw: func(*fixture) string { return ".." }, want: reason.GrantMalformed},
		{id: "FMT-002", name: "bad base64url header", raw: func(f *fixture) string {
			_, p, s := parts(f.tb, f.grant())
			return "eyJ!!!." + p + "." + s
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "bad base64url payload", raw: func(f *fixture) string {
			h, _, s := parts(f.tb, f.grant())
			return h + ".e30*%." + s
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "bad base64url signature", raw: func(f *fixture) string {
			h, p, _ := parts(f.tb, f.grant())
			return h + "." + p + ".c2ln+/=="
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "padded base64 header", raw: func(f *fixture) string {
			h, p, s := parts(f.tb, f.grant())
			return h + "==." + p + "." + s
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "non-canonical trailing bits in header", raw: func(f *fixture) string {
			// "e30" is "{}"; "e31" decodes to the same bytes unless decoding is strict.
			return "e31." + seg(f.tb, f.claims()) + "."
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "non-canonical trailing bits in the signature", raw: func(f *fixture) string {
			// 64 signature bytes leave 4 unused bits in the last character; setting one keeps the decoded bytes.
			h, p, s := parts(f.tb, f.grant())
			return h + "." + p + "." + s[:len(s)-1] + string(b64url[strings.IndexByte(b64url, s[len(s)-1])|1])
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "non-JSON header", raw: func(f *fixture) string {
			return craft(f.tb, "alg=EdDSA", f.claims(), f.keys.ed)
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "header is a JSON array", raw: func(f *fixture) string {
			return craft(f.tb, []string{"EdDSA"}, f.claims(), f.keys.ed)
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "non-JSON payload, validly signed", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.EdDSA, "ed-1", token.TypeGrant), "sub=alice", f.keys.ed)
		}, want: reason.GrantMalformed},
		{id: "FMT-002", name: "payload is a JSON string, validly signed", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, "alice")
		}, want: reason.GrantMalformed},
		{id: "FMT-003", name: "64 KiB of dots, default limit", raw: func(*fixture) string { return dots }, want: reason.GrantTooLarge},
		{id: "FMT-003", name: "64 KiB of dots, 1 MiB limit", raw: func(*fixture) string { return dots },
			cfg: func(c *token.Config) { c.MaxTokenBytes = 1 << 20 }, want: reason.GrantMalformed},
		{id: "FMT-003", name: "valid grant padded past the limit", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "pad", strings.Repeat("x", token.DefaultMaxTokenBytes)))
		}, want: reason.GrantTooLarge},
		{id: "FMT-004", name: "exp as a JSON string", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "exp", "1772600767"))
		}, want: reason.GrantMalformed},
		{id: "FMT-004", name: "iat as a JSON string", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "iat", "1772600167"))
		}, want: reason.GrantMalformed},
		{id: "FMT-004", name: "nbf as a boolean", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "nbf", true))
		}, want: reason.GrantMalformed},
		{id: "FMT-004", name: "exp beyond float range", raw: func(f *fixture) string {
			h := seg(f.tb, hdr(token.EdDSA, "ed-1", token.TypeGrant))
			p := seg(f.tb, `{"iss":"broker.test","sub":"alice","aud":"demo.v1.Vault","jti":"j","iat":1,"exp":1e400,"scope":{"methods":["*"]}}`)
			return h + "." + p + "." + signature(f.tb, f.keys.ed, h+"."+p)
		}, want: reason.GrantMalformed},
		{id: "FMT-004", name: "aud as a number", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "aud", 42))
		}, want: reason.GrantMalformed},
		{id: "FMT-004", name: "scope as a string", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "scope", readMethod))
		}, want: reason.GrantMalformed},

		// SIG: signatures.
		{id: "SIG-001", name: "signature stripped", raw: func(f *fixture) string {
			h, p, _ := parts(f.tb, f.grant())
			return h + "." + p + "."
		}, want: reason.GrantBadSignature},
		{id: "SIG-001", name: "signature stripped, ES256", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.ES256, "es-1", token.TypeGrant), f.claims(), nil)
		}, want: reason.GrantBadSignature},
		{id: "SIG-002", name: "payload tampered, original signature kept", raw: func(f *fixture) string {
			h, _, s := parts(f.tb, f.grant())
			return h + "." + seg(f.tb, with(f.claims(), "scope", map[string]any{"methods": []string{"*"}})) + "." + s
		}, want: reason.GrantBadSignature},
		{id: "SIG-002", name: "header tampered, original signature kept", raw: func(f *fixture) string {
			_, p, s := parts(f.tb, f.grant())
			return seg(f.tb, hdr(token.EdDSA, "ed-1", "JIT-GRANT+JWT")) + "." + p + "." + s
		}, want: reason.GrantBadSignature},
		{id: "SIG-002", name: "signature of another grant", raw: func(f *fixture) string {
			h, p, _ := parts(f.tb, f.grant())
			_, _, s := parts(f.tb, f.grant(func(s *token.GrantSpec) { s.ID = "other" }))
			return h + "." + p + "." + s
		}, want: reason.GrantBadSignature},
		{id: "SIG-003", name: "unknown EdDSA key, known kid", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.EdDSA, "ed-1", token.TypeGrant), f.claims(), f.keys.evilEd)
		}, want: reason.GrantBadSignature},
		{id: "SIG-003", name: "unknown ES256 key, known kid", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.ES256, "es-1", token.TypeGrant), f.claims(), f.keys.evilES)
		}, want: reason.GrantBadSignature},
		{id: "SIG-003", name: "HS256 with a guessed secret, known kid", cfg: pinHS256, raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "hs-1", token.TypeGrant), f.claims(), hmacWith("hs-1", []byte("secret")))
		}, want: reason.GrantBadSignature},
		{id: "SIG-003", name: "unknown key, unknown kid", raw: func(f *fixture) string {
			return f.signed(f.keys.evilEd, f.claims())
		}, want: reason.GrantUnknownKey},
		{id: "SIG-004", name: "ECDSA r=s=0", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.ES256, "es-1", token.TypeGrant), f.claims(), nil) + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
		}, want: reason.GrantBadSignature},
		{id: "SIG-004", name: "ECDSA r=s=n", raw: func(f *fixture) string {
			n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
			return craft(f.tb, hdr(token.ES256, "es-1", token.TypeGrant), f.claims(), nil) + base64.RawURLEncoding.EncodeToString(append(n, n...))
		}, want: reason.GrantBadSignature},
		{id: "SIG-004", name: "ECDSA signature one byte short", raw: func(f *fixture) string {
			return truncateSig(f, f.keys.es, 1)
		}, want: reason.GrantBadSignature},
		{id: "SIG-004", name: "ECDSA signature one byte long", raw: func(f *fixture) string {
			return extendSig(f, f.keys.es)
		}, want: reason.GrantBadSignature},
		{id: "SIG-004", name: "ECDSA signature in ASN.1 DER form", raw: func(f *fixture) string {
			return derSig(f)
		}, want: reason.GrantBadSignature},
		{id: "SIG-004", name: "EdDSA signature one byte short", raw: func(f *fixture) string {
			return truncateSig(f, f.keys.ed, 1)
		}, want: reason.GrantBadSignature},

		// ALG: algorithms.
		{id: "ALG-001", name: "alg none", raw: func(f *fixture) string {
			return craft(f.tb, hdr("none", "ed-1", token.TypeGrant), f.claims(), nil)
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-001", name: "alg None", raw: func(f *fixture) string {
			return craft(f.tb, hdr("None", "ed-1", token.TypeGrant), f.claims(), nil)
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-001", name: "alg NONE", raw: func(f *fixture) string {
			return craft(f.tb, hdr("NONE", "ed-1", token.TypeGrant), f.claims(), nil)
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-001", name: "alg nOnE", raw: func(f *fixture) string {
			return craft(f.tb, hdr("nOnE", "ed-1", token.TypeGrant), f.claims(), nil)
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-001", name: "alg none with a real signature kept", raw: func(f *fixture) string {
			_, p, s := parts(f.tb, f.grant())
			return seg(f.tb, hdr("none", "ed-1", token.TypeGrant)) + "." + p + "." + s
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-001", name: "alg missing", raw: func(f *fixture) string {
			return craft(f.tb, map[string]any{"kid": "ed-1", "typ": token.TypeGrant}, f.claims(), f.keys.ed)
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-001", name: "alg not a string", raw: func(f *fixture) string {
			return craft(f.tb, map[string]any{"alg": 1, "kid": "ed-1", "typ": token.TypeGrant}, f.claims(), f.keys.ed)
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-002", name: "HS256 with the EdDSA public key, HS256 not pinned", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "ed-1", token.TypeGrant), f.claims(), hmacWith("ed-1", edPublicBytes(f.keys.ed)))
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-002", name: "HS256 with the ES256 public key PEM, HS256 not pinned", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "es-1", token.TypeGrant), f.claims(), hmacWith("es-1", pemPublic(f.tb, f.keys.es)))
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-002", name: "HS256 with the raw ES256 public point, HS256 not pinned", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "es-1", token.TypeGrant), f.claims(), hmacWith("es-1", esPublicBytes(f.tb, f.keys.es)))
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-002", name: "HS256 with the raw ES256 public point, HS256 pinned", cfg: pinHS256, raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "es-1", token.TypeGrant), f.claims(), hmacWith("es-1", esPublicBytes(f.tb, f.keys.es)))
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-002", name: "HS256 with the EdDSA public key, HS256 pinned", cfg: pinHS256, raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "ed-1", token.TypeGrant), f.claims(), hmacWith("ed-1", edPublicBytes(f.keys.ed)))
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-002", name: "HS256 with the ES256 public key PEM, HS256 pinned", cfg: pinHS256, raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "es-1", token.TypeGrant), f.claims(), hmacWith("es-1", pemPublic(f.tb, f.keys.es)))
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-002", name: "HS256 with the RSA public key PEM, HS256 pinned", cfg: pinHS256, raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.HS256, "rs-1", token.TypeGrant), f.claims(), hmacWith("rs-1", pemPublic(f.tb, f.keys.rs)))
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-003", name: "valid RS256 signature, only EdDSA and ES256 pinned", raw: func(f *fixture) string {
			return f.signed(f.keys.rs, f.claims())
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-003", name: "valid HS256 signature, HS256 not pinned", raw: func(f *fixture) string {
			return f.signed(f.keys.hs, f.claims())
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-003", name: "valid EdDSA signature, only ES256 pinned", raw: func(f *fixture) string {
			return f.grant()
		}, cfg: func(c *token.Config) { c.Algorithms = []string{token.ES256} }, want: reason.GrantAlgMismatch},
		{id: "ALG-003", name: "ES384 header", raw: func(f *fixture) string {
			return craft(f.tb, hdr("ES384", "es-1", token.TypeGrant), f.claims(), f.keys.es)
		}, want: reason.GrantAlgMismatch},
		{id: "ALG-003", name: "pinned alg, kid of a key of another alg", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.ES256, "ed-1", token.TypeGrant), f.claims(), f.keys.es)
		}, want: reason.GrantAlgMismatch},

		// KEY: where the key comes from.
		{id: "KEY-001", name: "embedded jwk, known kid", raw: func(f *fixture) string {
			h := with(hdr(token.EdDSA, "ed-1", token.TypeGrant), "jwk", jwkOf(f.keys.evilEd))
			return craft(f.tb, h, f.claims(), f.keys.evilEd)
		}, want: reason.GrantBadSignature},
		{id: "KEY-001", name: "embedded jwk, no kid", raw: func(f *fixture) string {
			h := with(hdr(token.EdDSA, "", token.TypeGrant), "kid", deleted, "jwk", jwkOf(f.keys.evilEd))
			return craft(f.tb, h, f.claims(), f.keys.evilEd)
		}, want: reason.GrantUnknownKey},
		{id: "KEY-002", name: "jku, attacker kid", raw: func(f *fixture) string {
			h := with(hdr(token.EdDSA, "evil-ed", token.TypeGrant), "jku", f.trap())
			return craft(f.tb, h, f.claims(), f.keys.evilEd)
		}, want: reason.GrantUnknownKey},
		{id: "KEY-002", name: "jku, known kid", raw: func(f *fixture) string {
			h := with(hdr(token.EdDSA, "ed-1", token.TypeGrant), "jku", f.trap())
			return craft(f.tb, h, f.claims(), f.keys.evilEd)
		}, want: reason.GrantBadSignature},
		{id: "KEY-002", name: "x5u, attacker kid", raw: func(f *fixture) string {
			h := with(hdr(token.ES256, "evil-es", token.TypeGrant), "x5u", f.trap())
			return craft(f.tb, h, f.claims(), f.keys.evilES)
		}, want: reason.GrantUnknownKey},
		{id: "KEY-002", name: "x5u, known kid", raw: func(f *fixture) string {
			h := with(hdr(token.ES256, "es-1", token.TypeGrant), "x5u", f.trap())
			return craft(f.tb, h, f.claims(), f.keys.evilES)
		}, want: reason.GrantBadSignature},
		{id: "KEY-003", name: "kid unknown", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.EdDSA, "ed-2", token.TypeGrant), f.claims(), f.keys.ed)
		}, want: reason.GrantUnknownKey},
		{id: "KEY-003", name: "kid path traversal", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.EdDSA, "../../etc/passwd", token.TypeGrant), f.claims(), f.keys.ed)
		}, want: reason.GrantUnknownKey},
		{id: "KEY-003", name: "kid SQL-ish", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.EdDSA, "' OR 1=1 --", token.TypeGrant), f.claims(), f.keys.ed)
		}, want: reason.GrantUnknownKey},
		{id: "KEY-003", name: "kid missing", raw: func(f *fixture) string {
			return craft(f.tb, with(hdr(token.EdDSA, "", token.TypeGrant), "kid", deleted), f.claims(), f.keys.ed)
		}, want: reason.GrantUnknownKey},
		{id: "KEY-003", name: "kid not a string", raw: func(f *fixture) string {
			return craft(f.tb, with(hdr(token.EdDSA, "", token.TypeGrant), "kid", 1), f.claims(), f.keys.ed)
		}, want: reason.GrantUnknownKey},
		{name: "crit header", raw: func(f *fixture) string {
			return craft(f.tb, with(hdr(token.EdDSA, "ed-1", token.TypeGrant), "crit", []string{"exp"}), f.claims(), f.keys.ed)
		}, want: reason.GrantMalformed},

		// CLM: claims.
		{id: "CLM-001", name: "exp past beyond leeway", raw: func(f *fixture) string {
			now := f.clock.Now()
			return f.signed(f.keys.ed, with(f.claims(), "iat", now.Add(-time.Hour).Unix(), "nbf", now.Add(-time.Hour).Unix(),
				"exp", now.Add(-leeway-time.Second).Unix()))
		}, want: reason.GrantExpired},
		{id: "CLM-002", name: "exp missing", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "exp", deleted))
		}, want: reason.GrantClaimMissing},
		{id: "CLM-002", name: "exp null", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "exp", nil))
		}, want: reason.GrantClaimMissing},
		{name: "iat missing", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "iat", deleted))
		}, want: reason.GrantClaimMissing},
		{name: "sub missing", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "sub", deleted))
		}, want: reason.GrantClaimMissing},
		{name: "jti missing", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "jti", deleted))
		}, want: reason.GrantClaimMissing},
		{name: "scope missing", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "scope", deleted))
		}, want: reason.GrantClaimMissing},
		{name: "scope without methods", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "scope", map[string]any{"resource": "secrets/*"}))
		}, want: reason.GrantClaimMissing},
		{id: "CLM-003", name: "nbf in the future beyond leeway", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "nbf", f.clock.Now().Add(leeway+time.Second).Unix()))
		}, want: reason.GrantNotYetValid},
		{id: "CLM-003", name: "iat in the future beyond leeway", raw: func(f *fixture) string {
			now := f.clock.Now()
			return f.signed(f.keys.ed, with(f.claims(), "iat", now.Add(leeway+time.Second).Unix(), "nbf", deleted))
		}, want: reason.GrantNotYetValid},
		{id: "CLM-004", name: "lifetime over the maximum", raw: func(f *fixture) string {
			return f.grant(func(s *token.GrantSpec) { s.TTL = time.Hour + time.Second })
		}, want: reason.GrantLifetimeExceeded},
		{id: "CLM-005", name: "wrong iss", raw: func(f *fixture) string {
			raw, _, err := token.NewIssuer("evil-broker", f.set, f.clock).Grant(f.spec())
			if err != nil {
				f.tb.Fatal(err)
			}
			return raw
		}, want: reason.GrantIssuerMismatch},
		{id: "CLM-005", name: "iss missing", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "iss", deleted))
		}, want: reason.GrantIssuerMismatch},
		{id: "CLM-006", name: "aud of another service", raw: func(f *fixture) string {
			return f.grant(func(s *token.GrantSpec) { s.Audience = "billing.v1.Ledger" })
		}, want: reason.GrantAudienceMismatch},
		{id: "CLM-006", name: "aud missing", raw: func(f *fixture) string {
			return f.signed(f.keys.ed, with(f.claims(), "aud", deleted))
		}, want: reason.GrantAudienceMismatch},
		{name: "identity token presented as a grant", raw: func(f *fixture) string {
			raw, err := token.NewIssuer(testIssuer, f.set, f.clock).Identity(token.IdentitySpec{Subject: alice, Audience: testAudience, TTL: time.Minute})
			if err != nil {
				f.tb.Fatal(err)
			}
			return raw
		}, want: reason.GrantWrongType},
		{name: "typ JWT", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.EdDSA, "ed-1", "JWT"), f.claims(), f.keys.ed)
		}, want: reason.GrantWrongType},
		{name: "typ missing", raw: func(f *fixture) string {
			return craft(f.tb, hdr(token.EdDSA, "ed-1", ""), f.claims(), f.keys.ed)
		}, want: reason.GrantWrongType},
		{id: "CLM-007", name: "grant sub differs from the identity", raw: func(f *fixture) string {
			return f.grant()
		}, req: func(r *token.Request) { r.Subject = "mallory" }, want: reason.GrantSubjectMismatch},
		{id: "SCP-001", name: "method outside the scope", raw: func(f *fixture) string {
			return f.grant()
		}, req: func(r *token.Request) { r.Method = "/demo.v1.Vault/Delete" }, want: reason.GrantScopeMismatch},
		{id: "SCP-002", name: "resource outside the scope", raw: func(f *fixture) string {
			return f.grant()
		}, req: func(r *token.Request) { r.Resource = "secrets/team-b/db" }, want: reason.GrantScopeMismatch},
	}
}

func TestGrantVerifyFailures(t *testing.T) {
	for _, tc := range grantFailures() {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			f := newFixture(t)
			raw := tc.raw(f)
			req := defaultRequest()
			if tc.req != nil {
				tc.req(&req)
			}
			v := f.verifier(tc.cfg)

			start := time.Now()
			_, err := v.Verify(raw, req)
			// Every case is bounded: a refusal takes far less than this even under -race.
			assert.Less(t, time.Since(start), 2*time.Second)
			requireDenied(t, err, tc.want, raw)
		})
	}
}

// Every reason a grant verifier can return appears in the failure table, so
// a new reason cannot be added without a test. Stateful ones are tested apart.
func TestGrantFailuresCoverEveryGrantReason(t *testing.T) {
	covered := map[reason.Reason]bool{
		reason.GrantRevoked:        true, // TestRevocation
		reason.GrantReplayed:       true, // TestOneShot
		reason.RevocationViewStale: true, // TestRevocationViewStale
	}
	for _, tc := range grantFailures() {
		covered[tc.want] = true
	}
	for _, info := range reason.Catalog() {
		if info.Code == codes.PermissionDenied && strings.HasPrefix(string(info.Reason), "GRANT_") {
			assert.True(t, covered[info.Reason], "no test produces %s", info.Reason)
		}
	}
}
