package conformance

import (
	"encoding/json"
	"strconv"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/fakes"
)

// File is a target config file as written: the one schema of `jitbench
// conformance --config`. ParseConfig reads it strictly (unknown or repeated
// keys, wrong kinds and bad values are errors at file:line:col) and turns
// it into a Config; yaml.Marshal writes it back. Each field's doc tag is
// the sentence docs/conformance.md shows for its key.
type File struct {
	Address       string       `yaml:"address" doc:"required: the service under test, host:port"`
	TLS           *TLSFile     `yaml:"tls,omitempty" doc:"TLS to the service; left out, the connection is plaintext"`
	Profile       string       `yaml:"profile,omitempty" doc:"two-token (an identity and a JIT grant, the default) or single-token (one grant JWT in the identity header)"`
	Method        string       `yaml:"method" doc:"required: a protected unary method every case calls, /pkg.Service/Method"`
	Payload       string       `yaml:"payload,omitempty" doc:"the method's request as protobuf JSON, converted through server reflection or descriptor_set"`
	PayloadFile   string       `yaml:"payload_file,omitempty" doc:"or the request as a binary protobuf file"`
	DescriptorSet string       `yaml:"descriptor_set,omitempty" doc:"a FileDescriptorSet file, for a service without server reflection"`
	Control       *CallFile    `yaml:"control,omitempty" doc:"an unprotected method that answers OK without credentials: called first, to tell an unreachable service from a failing one"`
	Headers       *HeadersFile `yaml:"headers,omitempty" doc:"the headers that carry the credentials"`
	Tokens        *TokensFile  `yaml:"tokens,omitempty" doc:"the claims and JOSE header of valid credentials, as the service expects them (default: the reference's)"`
	Keys          KeysFile     `yaml:"keys" doc:"required: the issuers the service trusts, with their test keys"`
	Audience      string       `yaml:"audience" doc:"required: the service's name, the aud of every credential"`
	Subject       string       `yaml:"subject,omitempty" doc:"the caller the credentials name (default jitbench-conformance)"`
	Leeway        Duration     `yaml:"leeway,omitempty" doc:"the service's clock-skew tolerance (default 30s): the time cases are placed one second inside or outside it"`
	Algorithms    []string     `yaml:"algorithms,omitempty" doc:"the algorithms the service pins (default: EdDSA and ES256 with dev keys, else those of the keys); ALG-003 signs outside them"`

	// The capabilities: what the service promises beyond the catalog's
	// basics. A case that needs one the file does not declare is skipped.
	MaxGrantLifetime Duration       `yaml:"max_grant_lifetime,omitempty" doc:"capability: the longest grant the service accepts (CLM-004)"`
	MaxTokenBytes    int            `yaml:"max_token_bytes,omitempty" doc:"capability: the largest token the service reads, in bytes (FMT-005)"`
	KidRequired      bool           `yaml:"kid_required,omitempty" doc:"capability: the service refuses a token whose kid names no key it has (KEY-003)"`
	TypChecked       bool           `yaml:"typ_checked,omitempty" doc:"capability: the service checks the typ header (CLM-010)"`
	Stream           *CallFile      `yaml:"stream,omitempty" doc:"capability: a protected server-streaming method (SCP-004)"`
	Resource         *ResourceFile  `yaml:"resource,omitempty" doc:"capability: grants are scoped to a resource the payload addresses (SCP-002)"`
	OneShot          *OneShotFile   `yaml:"one_shot,omitempty" doc:"capability: the service honours one-shot grants (CLM-008): true for the reference's one_shot claim, or {claims: {...}} for the claims that make a grant one-shot"`
	Broker           *BrokerFile    `yaml:"broker,omitempty" doc:"capability: a jit.v1 broker the service trusts; the suite gets a grant from it and revokes it (SCP-003)"`
	Revoke           *RevokeFile    `yaml:"revoke,omitempty" doc:"capability: or a command or HTTP hook that revokes a grant by its jti (SCP-003)"`
	KeySource        *KeySourceFile `yaml:"key_source,omitempty" doc:"capability: the suite serves the grant issuer's public keys as a JWKS the service reads (DL-003, KEY-004, OUT-002, OUT-003)"`
	StrictSignatures bool           `yaml:"strict_signatures,omitempty" doc:"the service refuses malleable (high-s) ECDSA signatures: SIG-005 fails instead of advising"`
}

// TLSFile is the tls: block.
type TLSFile struct {
	CA         string `yaml:"ca,omitempty" doc:"the CA that signed the service's certificate (default: the system's roots)"`
	Cert       string `yaml:"cert,omitempty" doc:"a client certificate, for mTLS (with key)"`
	Key        string `yaml:"key,omitempty" doc:"its private key"`
	ServerName string `yaml:"server_name,omitempty" doc:"the name checked in the service's certificate"`
	Insecure   bool   `yaml:"insecure,omitempty" doc:"accept any certificate of the service"`
}

// CallFile is a method and its request.
type CallFile struct {
	Method      string `yaml:"method" doc:"the full method name"`
	Payload     string `yaml:"payload,omitempty" doc:"its request as protobuf JSON"`
	PayloadFile string `yaml:"payload_file,omitempty" doc:"or as a binary protobuf file"`
}

// HeadersFile names the credential headers.
type HeadersFile struct {
	Identity *HeaderFile `yaml:"identity,omitempty" doc:"the identity's header, and the single-token profile's (default authorization, scheme Bearer)"`
	Grant    *HeaderFile `yaml:"grant,omitempty" doc:"the grant's header in the two-token profile (default x-jit-grant, no scheme)"`
}

// HeaderFile is a credential header: its name alone ("x-access-grant"),
// or {name, scheme} when the value is "<scheme> <token>".
type HeaderFile struct {
	Name   string  `yaml:"name" doc:"the metadata key, lower case"`
	Scheme *string `yaml:"scheme,omitempty" doc:"the scheme before the token (Bearer); empty for the bare token"`
}

// TokensFile lays out the credentials.
type TokensFile struct {
	Identity *TokenFile `yaml:"identity,omitempty" doc:"the identity token (two-token profile)"`
	Grant    *TokenFile `yaml:"grant,omitempty" doc:"the JIT grant (the one token of the single-token profile)"`
}

// TokenFile is one credential's layout.
type TokenFile struct {
	Preset      string            `yaml:"preset,omitempty" doc:"a grant layout: scope.methods (the reference's, the default), methods, scope-string, scp, permissions or roles"`
	Claims      *ClaimsFile       `yaml:"claims,omitempty" doc:"the claims of a valid token, any JSON shape, with placeholders; with a preset, merged over its claims (null removes one)"`
	Typ         *string           `yaml:"typ,omitempty" doc:"the typ header (default: the preset's); empty for none"`
	Kid         *bool             `yaml:"kid,omitempty" doc:"whether tokens carry a kid header (default true)"`
	MethodForm  string            `yaml:"method_form,omitempty" doc:"how grants spell methods: /pkg.Service/Method (default), pkg.Service/Method or pkg.Service.Method"`
	Permissions map[string]string `yaml:"permissions,omitempty" doc:"full method name to the permission that grants it, for services whose permissions are not method names"`
}

// ClaimsFile is a claim template as YAML: members keep their order.
type ClaimsFile struct {
	fakes.Object
}

// KeysFile names the issuers.
type KeysFile struct {
	Dev      bool        `yaml:"dev,omitempty" doc:"the reference's public development keys for both issuers (never trust them elsewhere)"`
	Identity *IssuerFile `yaml:"identity,omitempty" doc:"the identity provider (two-token profile)"`
	Grant    *IssuerFile `yaml:"grant,omitempty" doc:"the grant issuer (the broker)"`
}

// IssuerFile is one issuer and its key.
type IssuerFile struct {
	Issuer     string `yaml:"issuer" doc:"the iss claim"`
	File       string `yaml:"file,omitempty" doc:"its private key: a JWKS, a JWK, PEM (PKCS#8, PKCS#1, SEC1, with or without its certificate) or DER"`
	SecretFile string `yaml:"secret_file,omitempty" doc:"or an HMAC secret: the file's bytes, as they are"`
	SecretEnv  string `yaml:"secret_env,omitempty" doc:"or an HMAC secret in this environment variable"`
	Alg        string `yaml:"alg,omitempty" doc:"the key's algorithm, when the file does not say (default: from the key type)"`
	Kid        string `yaml:"kid,omitempty" doc:"the key's kid, when the file does not say (default: the issuer's name)"`
	PublicFile string `yaml:"public_file,omitempty" doc:"the public key exactly as the service holds it (PEM, DER or certificate): ALG-002 also MACs with its bytes"`
}

// ResourceFile is the resource: block.
type ResourceFile struct {
	Pattern           string `yaml:"pattern" doc:"the resource every valid grant is scoped to, e.g. secrets/*"`
	OutOfScopePayload string `yaml:"out_of_scope_payload,omitempty" doc:"a request for a resource outside it (SCP-002's second variant)"`
}

// OneShotFile is one_shot: true, or the claims that make a grant one-shot.
type OneShotFile struct {
	Claims *ClaimsFile `yaml:"claims,omitempty" doc:"merged into CLM-008's grant (default {one_shot: true}); {} when every grant is one-shot"`
	off    bool        // one_shot: false
}

// On reports whether the file declares one-shot support.
func (o *OneShotFile) On() bool { return o != nil && !o.off }

// BrokerFile is a jit.v1 broker the service trusts.
type BrokerFile struct {
	Address        string   `yaml:"address" doc:"its host:port (plaintext)"`
	Audience       string   `yaml:"audience,omitempty" doc:"the aud of identities sent to it (default jit.v1.Broker)"`
	Approver       string   `yaml:"approver,omitempty" doc:"who approves the suite's request when the policy does not"`
	ApproverGroups []string `yaml:"approver_groups,omitempty" doc:"the approver's groups"`
}

// RevokeFile is a hook that revokes a grant: a command or an HTTP POST.
type RevokeFile struct {
	Command []string `yaml:"command,omitempty" doc:"a command and its arguments; ${jti} in any is the grant's id; exit 0 means revoked"`
	URL     string   `yaml:"url,omitempty" doc:"or a URL to POST to; ${jti} in it is the grant's id; a 2xx means revoked"`
}

// KeySourceFile is the key source the suite serves.
type KeySourceFile struct {
	Listen string `yaml:"listen" doc:"the host:port the suite serves the JWKS on (the service must be configured to read it)"`
	Path   string `yaml:"path,omitempty" doc:"the JWKS's path (default /.well-known/jwks.json)"`
}

// Duration is a duration written as Go writes it: 30s, 1h, 1m30s.
type Duration time.Duration

// MarshalYAML writes d as Go writes durations.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalYAML writes a header as its name alone when it has no scheme of its own.
func (h HeaderFile) MarshalYAML() (any, error) {
	if h.Scheme == nil {
		return h.Name, nil
	}
	type plain HeaderFile
	return plain(h), nil
}

// MarshalYAML writes one_shot: true when no claims are given.
func (o OneShotFile) MarshalYAML() (any, error) {
	if o.Claims == nil {
		return !o.off, nil
	}
	type plain OneShotFile
	return plain(o), nil
}

// MarshalYAML writes the claims as a mapping in their order.
func (c ClaimsFile) MarshalYAML() (any, error) { return objectNode(c.Object), nil }

// objectNode is o as a YAML node, members in order.
func objectNode(o fakes.Object) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, m := range o {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: m.Name}, valueNode(m.Value))
	}
	return n
}

// valueNode is a claim value as a YAML node.
func valueNode(v any) *yaml.Node {
	switch x := v.(type) {
	case fakes.Object:
		return objectNode(x)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, e := range x {
			n.Content = append(n.Content, valueNode(e))
		}
		return n
	}
	n := &yaml.Node{Kind: yaml.ScalarNode}
	switch x := v.(type) {
	case string:
		n.Style, n.Value = yaml.DoubleQuotedStyle, x
	case json.Number:
		n.Value = string(x) // a plain scalar: YAML reads it back as a number
	case bool:
		n.Value = strconv.FormatBool(x)
	default:
		n.Value = "null"
	}
	return n
}
