package conformance_test

import (
	"encoding/base64"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/conformance"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
)

// jwt is an unsigned-looking compact token from raw header and claims JSON: inference never verifies.
func jwt(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + enc([]byte("signature"))
}

const es256 = `{"alg":"ES256","typ":"JWT","kid":"k1"}`

func TestInferSampleScopeForms(t *testing.T) {
	for name, tt := range map[string]struct {
		claims             string
		claim              string
		values             []string
		nested, spaced     bool
		template, audArray string
		resource           string
	}{
		"scope.methods": {claims: `{"iss":"b","aud":["svc"],"scope":{"methods":["/a.B/C"],"resource":"s/*"}}`, claim: "scope",
			values: []string{"/a.B/C"}, nested: true, resource: "s/*",
			template: `{"iss":"${iss}","aud":["${aud}"],"scope":{"methods":"${methods}","resource":"${resource}"}}`},
		"methods list": {claims: `{"methods":["a.B/C","a.B/D"],"iat":1,"exp":61}`, claim: "methods", values: []string{"a.B/C", "a.B/D"},
			template: `{"methods":"${methods}","iat":"${iat}","exp":"${exp}"}`},
		"scope string": {claims: `{"scope":"cart.read cart.write","client_id":"web"}`, claim: "scope", values: []string{"cart.read", "cart.write"},
			spaced: true, template: `{"scope":"${methods:space}","client_id":"web"}`},
		"scp array": {claims: `{"scp":["files:read"],"res":"reports/"}`, claim: "scp", values: []string{"files:read"}, resource: "reports/",
			template: `{"scp":"${methods}","res":"${resource}"}`},
		"scp string":  {claims: `{"scp":"a b"}`, claim: "scp", values: []string{"a", "b"}, spaced: true, template: `{"scp":"${methods:space}"}`},
		"permissions": {claims: `{"permissions":["p"],"x":{"y":[1,true,null]}}`, claim: "permissions", values: []string{"p"}, template: `{"permissions":"${methods}","x":{"y":[1,true,null]}}`},
		"roles":       {claims: `{"roles":["admin"]}`, claim: "roles", values: []string{"admin"}, template: `{"roles":"${methods}"}`},
		"none":        {claims: `{"sub":"alice","grp":["x"]}`, template: `{"sub":"${sub}","grp":["x"]}`},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := conformance.InferSample(jwt(es256, tt.claims))
			require.NoError(t, err)
			assert.Equal(t, tt.claim, s.Scope.Claim)
			assert.Equal(t, tt.values, s.Scope.Values)
			assert.Equal(t, tt.nested, s.Scope.Nested)
			assert.Equal(t, tt.spaced, s.Scope.Spaced)
			assert.Equal(t, tt.resource, s.Resource)
			tmpl, err := s.Template(true)
			require.NoError(t, err)
			j, err := tmpl.MarshalJSON()
			require.NoError(t, err)
			assert.JSONEq(t, tt.template, string(j))
		})
	}
}

func TestInferSampleHeaderAndTimes(t *testing.T) {
	s, err := conformance.InferSample("Bearer " + jwt(`{"alg":"RS256","typ":"at+jwt","kid":"k","x5t":"abc"}`,
		`{"iss":"https://idp","sub":"alice","aud":["api","other"],"iat":1000,"exp":1300}`))
	require.NoError(t, err)
	assert.Equal(t, "Bearer", s.Scheme)
	assert.Equal(t, "RS256", s.Alg)
	assert.Equal(t, "at+jwt", s.Typ)
	assert.True(t, s.HasKid)
	assert.Equal(t, "k", s.Kid)
	assert.Equal(t, []string{"x5t"}, s.OtherHeader)
	assert.Equal(t, "https://idp", s.Issuer)
	assert.Equal(t, "alice", s.Subject)
	assert.Equal(t, "api", s.Audience)
	assert.True(t, s.AudienceArray)
	assert.Equal(t, 5*time.Minute, s.Lifetime)
	tmpl, err := s.Template(false)
	require.NoError(t, err)
	aud, _ := tmpl.Get("aud")
	assert.Equal(t, []any{"${aud}", "other"}, aud, "the first audience is the target's, the others stay")

	s, err = conformance.InferSample(jwt(`{"alg":"HS256"}`, `{"aud":"svc"}`))
	require.NoError(t, err)
	assert.False(t, s.HasKid)
	assert.False(t, s.HasTyp)
	assert.False(t, s.AudienceArray)
	assert.Zero(t, s.Lifetime)
}

// TestInferSampleRefuses: what is not a signed JWT is refused in one line.
func TestInferSampleRefuses(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	for name, tt := range map[string]struct{ in, want string }{
		"empty":           {"", "it is empty"},
		"not a JWT":       {"hello", "three base64url parts"},
		"two parts":       {"a.b", "three base64url parts"},
		"JWE":             {"a.b.c.d.e", "encrypted token (JWE"},
		"bad base64":      {"!!.e30.c", "header is not base64url"},
		"padded":          {enc([]byte(es256)) + "=.e30.c", "header is not base64url"},
		"header not JSON": {enc([]byte("nope")) + ".e30.c", "header is not a JSON object"},
		"claims an array": {jwt(es256, `[1]`), "claims is not a JSON object"},
		"duplicate claim": {jwt(es256, `{"sub":"a","sub":"b"}`), "claims is not a JSON object"},
		"alg none":        {jwt(`{"alg":"none"}`, `{}`), "unsigned (alg none)"},
		"no alg":          {jwt(`{"typ":"JWT"}`, `{}`), "no alg"},
		"unknown alg":     {jwt(`{"alg":"XY999"}`, `{}`), `alg "XY999"`},
		"alg a number":    {jwt(`{"alg":1}`, `{}`), "alg is not text"},
		"exp as text":     {jwt(es256, `{"exp":"tomorrow"}`), "exp is not a number"},
		"aud a number":    {jwt(es256, `{"aud":1}`), "aud is neither"},
		"placeholder":     {jwt(es256, `{"team":"${oops}"}`), "cannot be written as a template"},
		"too long":        {strings.Repeat("a", 70<<10), "more than the"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := conformance.InferSample(tt.in)
			require.ErrorIs(t, err, conformance.ErrBadSample)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestInitRefuses: bad input, a target that cannot be reached, and one
// without server reflection are each one error of one line.
func TestInitRefuses(t *testing.T) {
	good := jwt(es256, `{"iss":"b","aud":"svc","methods":["/a.B/C"]}`)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	unreachable := closed.Addr().String()
	require.NoError(t, closed.Close())

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	bare := grpc.NewServer() // no reflection
	go func() { _ = bare.Serve(lis) }()
	t.Cleanup(bare.Stop)

	for name, tt := range map[string]struct {
		o    conformance.InitOptions
		want error
		msg  string
	}{
		"no address":       {conformance.InitOptions{SampleToken: good}, conformance.ErrInit, "--address is required"},
		"no sample":        {conformance.InitOptions{Address: unreachable}, conformance.ErrInit, "a sample token is required"},
		"not a JWT":        {conformance.InitOptions{Address: unreachable, SampleToken: "hello"}, conformance.ErrInit, "--sample-token: not a usable sample token"},
		"both kinds":       {conformance.InitOptions{Address: unreachable, SampleToken: good, SampleGrant: good}, conformance.ErrInit, "--sample-token is the one token"},
		"identity alone":   {conformance.InitOptions{Address: unreachable, SampleIdentity: good}, conformance.ErrInit, "needs --sample-grant"},
		"profile mismatch": {conformance.InitOptions{Address: unreachable, SampleToken: good, Profile: conformance.TwoToken}, conformance.ErrInit, "does not fit the samples"},
		"unreachable":      {conformance.InitOptions{Address: unreachable, SampleToken: good}, conformance.ErrUnreachable, ""},
		"no reflection":    {conformance.InitOptions{Address: lis.Addr().String(), SampleToken: good}, conformance.ErrNoReflection, "--descriptor-set"},
		"bad descriptors":  {conformance.InitOptions{Address: unreachable, SampleToken: good, DescriptorSet: "/nonexistent/set.pb"}, conformance.ErrInit, "--descriptor-set"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := conformance.Init(t.Context(), tt.o)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v", err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestInitFromDescriptorSet: with a descriptor set init needs no
// reflection (nor the target): the methods come from the set, and the
// config names the set, relative to the config's directory.
func TestInitFromDescriptorSet(t *testing.T) {
	dir := t.TempDir()
	fd := demov1.File_demo_v1_vault_proto
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(fd)}}
	data, err := proto.Marshal(set)
	require.NoError(t, err)
	setPath := filepath.Join(dir, "vault.pb")
	require.NoError(t, os.WriteFile(setPath, data, 0o600))

	sample := jwt(`{"alg":"EdDSA","typ":"jit-grant+jwt","kid":"dev"}`,
		`{"iss":"jit-broker","sub":"alice","aud":["demo"],"exp":400,"iat":100,"scope":{"methods":["/demo.v1.Vault/List","/demo.v1.Vault/Read"],"resource":"secrets/*"}}`)
	res, err := conformance.Init(t.Context(), conformance.InitOptions{Address: "127.0.0.1:1", DescriptorSet: setPath,
		SampleToken: sample, Payload: `{"name":"secrets/a"}`, ConfigDir: dir})
	require.NoError(t, err)
	f := res.File
	assert.Equal(t, "vault.pb", f.DescriptorSet)
	assert.Equal(t, "/demo.v1.Vault/Read", f.Method, "the first unary method granted")
	require.NotNil(t, f.Stream)
	assert.Equal(t, "/demo.v1.Vault/List", f.Stream.Method)
	assert.Nil(t, f.Control, "no health service in the set")
	require.NotNil(t, f.Resource)
	assert.Equal(t, "secrets/*", f.Resource.Pattern)
	scope, _ := f.Tokens.Grant.Claims.Get("scope")
	assert.Equal(t, fakes.Object{{Name: "methods", Value: "${methods}"}, {Name: "resource", Value: "${resource}"}}, scope)
	assert.Equal(t, "jit-grant+jwt", *f.Tokens.Grant.Typ)
	assert.Contains(t, strings.Join(res.Todo, "\n"), "keys.grant.file: the grant issuer's private test key")
	assert.Contains(t, strings.Join(res.Todo, "\n"), "control: the target has no gRPC health service")

	back, err := conformance.DecodeFile(filepath.Join(dir, "target.yaml"), res.YAML)
	require.NoError(t, err, "the YAML reads back into the schema")
	assert.Equal(t, f.Method, back.Method)
	assert.Equal(t, f.Tokens.Grant.Claims.Object, back.Tokens.Grant.Claims.Object)
}
