package zoo_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// t0 is every fixture's fixed "now".
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is one member's keys, key source and clock, shared by the
// targets a test starts.
type fixture struct {
	kind  zoo.Kind
	conv  zoo.Convention
	keys  *zoo.Material
	jwks  *zoo.JWKSServer // oauth-scope only
	clock *clockwork.FakeClock
	files *protoregistry.Files // the service's descriptors, read by reflection from the first target
}

func newFixture(t *testing.T, k zoo.Kind) *fixture {
	t.Helper()
	conv, err := zoo.Describe(k)
	require.NoError(t, err)
	keys, err := zoo.GenerateKeys(k, t.TempDir())
	require.NoError(t, err)
	f := &fixture{kind: k, conv: conv, keys: keys, clock: clockwork.NewFakeClockAt(t0)}
	if keys.JWKS != nil {
		f.jwks, err = zoo.NewJWKSServer(*keys.JWKS)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, f.jwks.Close()) })
	}
	return f
}

// twoToken reports whether the member takes an identity and a grant.
func (f *fixture) twoToken() bool { return f.conv.Profile == zoo.TwoToken }

// tokenFault is the code of a refused grant: PERMISSION_DENIED, or in the
// single-token profile UNAUTHENTICATED (the caller is unknown).
func (f *fixture) tokenFault() codes.Code {
	if f.twoToken() {
		return codes.PermissionDenied
	}
	return codes.Unauthenticated
}

// target is a started build and a connection to it.
type target struct {
	*zoo.Target
	conn *grpc.ClientConn
	f    *fixture
}

// start serves bug's build of the fixture's member until the test ends.
func (f *fixture) start(t *testing.T, bug zoo.Bug) *target {
	t.Helper()
	return f.startWith(t, bug, nil)
}

// startWith is start with the options changed by set.
func (f *fixture) startWith(t *testing.T, bug zoo.Bug, set func(*zoo.Options)) *target {
	t.Helper()
	opts := zoo.Options{KeysDir: f.keys.Dir, Clock: f.clock.Now}
	if f.jwks != nil {
		opts.JWKSURL = f.jwks.URL
	}
	if set != nil {
		set(&opts)
	}
	tg, err := zoo.Start(f.kind, bug, opts)
	require.NoError(t, err)
	t.Cleanup(tg.Stop)
	conn, err := grpc.NewClient(tg.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	if f.files == nil {
		f.files = reflectFiles(t, conn, f.conv.Service)
	}
	return &target{Target: tg, conn: conn, f: f}
}

// reflectFiles reads service's descriptors (and their dependencies) through
// the server reflection, as the conformance suite builds requests from JSON.
func reflectFiles(t *testing.T, conn *grpc.ClientConn, service string) *protoregistry.Files {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	require.NoError(t, err)
	require.NoError(t, stream.Send(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: service}}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.Nil(t, resp.GetErrorResponse(), "reflection: %v", resp.GetErrorResponse())
	set := &descriptorpb.FileDescriptorSet{}
	for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fd := &descriptorpb.FileDescriptorProto{}
		require.NoError(t, proto.Unmarshal(b, fd))
		set.File = append(set.File, fd)
	}
	require.NoError(t, stream.CloseSend())
	files, err := protodesc.NewFiles(set)
	require.NoError(t, err)
	return files
}

// methodDesc finds the descriptor of a full method name.
func (f *fixture) methodDesc(t *testing.T, fullMethod string) protoreflect.MethodDescriptor {
	t.Helper()
	svc, name, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	require.True(t, ok, fullMethod)
	d, err := f.files.FindDescriptorByName(protoreflect.FullName(svc))
	require.NoError(t, err)
	m := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(name))
	require.NotNil(t, m, fullMethod)
	return m
}

// call is one RPC to make.
type call struct {
	zoo.Call
	md metadata.MD
	// twice makes the call twice and keeps the second outcome (a replay).
	twice bool
}

// outcome is what a call got.
type outcome struct {
	code codes.Code
	msg  string
	ran  bool // a protected handler ran
}

// do makes c on tg.
func (tg *target) do(t *testing.T, c call) outcome {
	t.Helper()
	out := tg.once(t, c)
	if c.twice {
		require.Equal(t, codes.OK, out.code, "the first use passes: %s", out.msg)
		out = tg.once(t, c)
	}
	return out
}

func (tg *target) once(t *testing.T, c call) outcome {
	t.Helper()
	m := tg.f.methodDesc(t, c.Method)
	req := requestFor(t, m, c.JSON)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a safety net, not a check
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, c.md)
	before := tg.HandlerCalls()
	var err error
	if m.IsStreamingServer() {
		err = stream(ctx, tg.conn, c.Method, req, m.Output())
	} else {
		err = tg.conn.Invoke(ctx, c.Method, req, responseFor(m))
	}
	st := status.Convert(err)
	return outcome{code: st.Code(), msg: st.Message(), ran: tg.HandlerCalls() > before}
}

// requestFor is m's request read from protobuf JSON.
func requestFor(t *testing.T, m protoreflect.MethodDescriptor, js string) proto.Message {
	t.Helper()
	req := dynamicpb.NewMessage(m.Input())
	require.NoError(t, protojson.Unmarshal([]byte(js), req), js)
	return req
}

// responseFor is an empty response of m.
func responseFor(m protoreflect.MethodDescriptor) proto.Message {
	return dynamicpb.NewMessage(m.Output())
}

// stream makes a server-streaming call and reads it to the end.
func stream(ctx context.Context, conn *grpc.ClientConn, method string, req proto.Message, out protoreflect.MessageDescriptor) error {
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return err
	}
	if err := s.SendMsg(req); err != nil && err != io.EOF {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		if err := s.RecvMsg(dynamicpb.NewMessage(out)); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// edit changes a token's header and claims before it is signed.
type edit func(h, c map[string]any)

// claims returns the grant's (or single token's) template header and claims at the fixture's now, edited.
func (f *fixture) claims(cred zoo.Credential, e edit) (map[string]any, map[string]any) {
	h, c := cred.ValidHeader(), cred.ValidClaims(f.clock.Now())
	if e != nil {
		e(h, c)
	}
	return h, c
}

// grant mints a grant (the single token) signed with the member's key.
func (f *fixture) grant(t *testing.T, e edit) string {
	t.Helper()
	h, c := f.claims(f.conv.Grant, e)
	tok, err := f.keys.Grant.Sign(h, c)
	require.NoError(t, err)
	return tok
}

// identity mints an identity token; "" in the single-token profile.
func (f *fixture) identity(t *testing.T, e edit) string {
	t.Helper()
	if !f.twoToken() {
		return ""
	}
	h, c := f.claims(*f.conv.Identity, e)
	tok, err := f.keys.Identity.Sign(h, c)
	require.NoError(t, err)
	return tok
}

// md carries identity (when not empty) and grant (when not empty) the member's way.
func (f *fixture) md(identity, grant string) metadata.MD {
	md := metadata.MD{}
	if identity != "" {
		md.Append(f.conv.Identity.Header, f.conv.Identity.Value(identity))
	}
	if grant != "" {
		md.Append(f.conv.Grant.Header, f.conv.Grant.Value(grant))
	}
	return md
}

// withGrant is the unary call with a valid identity and grant.
func (f *fixture) withGrant(t *testing.T, grant string) call {
	t.Helper()
	return call{Call: f.conv.Unary, md: f.md(f.identity(t, nil), grant)}
}

// valid is the unary call with valid credentials.
func (f *fixture) valid(t *testing.T) call { return f.withGrant(t, f.grant(t, nil)) }

// rawToken joins header and claims (as JSON) and sig, unsigned or signed by hand.
func rawToken(t *testing.T, h, c map[string]any, sig []byte) string {
	t.Helper()
	return rawInput(t, h, c) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// rawInput is the signing input of header and claims.
func rawInput(t *testing.T, h, c map[string]any) string {
	t.Helper()
	hj, err := json.Marshal(h)
	require.NoError(t, err)
	cj, err := json.Marshal(c)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(hj) + "." + base64.RawURLEncoding.EncodeToString(cj)
}

// hmacToken signs header and claims with HMAC of newHash keyed by secret (alg is set in h by the caller).
func hmacToken(t *testing.T, h, c map[string]any, secret []byte, newHash func() hash.Hash) string {
	t.Helper()
	input := rawInput(t, h, c)
	m := hmac.New(newHash, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// hs256 is hmacToken with SHA-256.
func hs256(t *testing.T, h, c map[string]any, secret []byte) string {
	t.Helper()
	h["alg"] = "HS256"
	return hmacToken(t, h, c, secret, sha256.New)
}
