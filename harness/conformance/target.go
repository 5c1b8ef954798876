package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/jitbench/jitbench/harness/load"
	"github.com/jitbench/jitbench/reference/filecap"
	"github.com/jitbench/jitbench/reference/reason"
)

// ErrUnreachable is wrapped by RunSuite's error when the target cannot be
// connected to, or its control method does not answer OK.
var ErrUnreachable = errors.New("the target is unreachable")

// connectTimeout bounds the wait for the target's connection and its control call.
const connectTimeout = 5 * time.Second

// target is the connection to the service under test and its prepared requests.
type target struct {
	addr string
	tls  *tls.Config
	conn *grpc.ClientConn
	// requests are the configured calls' requests in wire form, by role.
	method, stream, outOfScope *prepared
}

// prepared is a call ready to send: its method and its request, carried as
// the unknown fields of an Empty message, so any request is sent as it is,
// with the standard codec and no generated code.
type prepared struct {
	method string
	msg    *emptypb.Empty
	stream bool
}

// connect dials the target, checks its control method, and prepares the configured requests.
func connect(ctx context.Context, cfg *Config) (*target, error) {
	t := &target{addr: cfg.Address}
	if cfg.TLS != nil {
		var err error
		if t.tls, err = cfg.TLS.Config(); err != nil {
			return nil, fmt.Errorf("%w: tls: %w", ErrInvalidConfig, err)
		}
	}
	conns, err := load.Dial(ctx, cfg.Address, load.DialOptions{TLS: t.tls, Timeout: connectTimeout})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	t.conn = conns[0]
	ok := false
	defer func() {
		if !ok {
			t.close()
		}
	}()
	files, err := descriptors(cfg.DescriptorSet)
	if err != nil {
		return nil, err
	}
	resolver := load.Reflection(t.conn)
	if files != nil {
		resolver = files
	}
	if cfg.Control != nil {
		control, err := prepare(ctx, resolver, cfg.Control, false)
		if err != nil {
			return nil, err
		}
		a := t.do(ctx, t.conn, control, nil, connectTimeout)
		if a.code != codes.OK {
			return nil, fmt.Errorf("%w: the control method %s answered %s (%s): it must answer OK without credentials",
				ErrUnreachable, control.method, reason.CodeName(a.code), excerpt(a.message, nil))
		}
	}
	if t.method, err = prepare(ctx, resolver, &cfg.Method, false); err != nil {
		return nil, err
	}
	if cfg.Stream != nil {
		if t.stream, err = prepare(ctx, resolver, cfg.Stream, true); err != nil {
			return nil, err
		}
	}
	if cfg.OutOfScope != nil {
		if t.outOfScope, err = prepare(ctx, resolver, cfg.OutOfScope, false); err != nil {
			return nil, err
		}
	}
	ok = true
	return t, nil
}

// descriptorSetCap bounds a descriptor_set file: a large API's set is a few MiB.
var descriptorSetCap = filecap.Limit{Kind: "descriptor set", Bytes: 16 << 20}

// descriptors reads a FileDescriptorSet file as a resolver; nil when none is named.
func descriptors(path string) (load.Resolver, error) {
	if path == "" {
		return nil, nil
	}
	data, err := filecap.ReadFile(path, descriptorSetCap)
	if err != nil {
		return nil, fmt.Errorf("%w: descriptor_set: %w", ErrInvalidConfig, err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(data, set); err != nil {
		return nil, fmt.Errorf("%w: descriptor_set %s is not a FileDescriptorSet: %w", ErrInvalidConfig, path, err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("%w: descriptor_set %s: %w", ErrInvalidConfig, path, err)
	}
	return load.Local(files), nil
}

// prepare turns a configured call into a request in wire form.
func prepare(ctx context.Context, resolver load.Resolver, c *Call, stream bool) (*prepared, error) {
	wire := c.Binary
	if c.JSON != "" {
		rctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		schema, err := resolver.Resolve(rctx, c.Method)
		if err != nil && emptyJSON(c.JSON) {
			// The empty message is the same in every schema: it needs none
			// (a health check through a reflection service that lacks it).
			return &prepared{method: c.Method, msg: &emptypb.Empty{}, stream: stream}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, c.Method, err)
		}
		if stream && !schema.Method.IsStreamingServer() {
			return nil, fmt.Errorf("%w: stream method %s does not stream its answers", ErrInvalidConfig, c.Method)
		}
		if wire, err = schema.Request([]byte(c.JSON)); err != nil {
			return nil, fmt.Errorf("%w: the payload of %s: %w", ErrInvalidConfig, c.Method, err)
		}
	}
	msg := &emptypb.Empty{}
	if err := proto.Unmarshal(wire, msg); err != nil {
		return nil, fmt.Errorf("%w: the binary payload of %s is not protobuf: %w", ErrInvalidConfig, c.Method, err)
	}
	return &prepared{method: c.Method, msg: msg, stream: stream}, nil
}

// emptyJSON reports whether s is a JSON object with nothing in it.
func emptyJSON(s string) bool {
	return strings.Join(strings.Fields(s), "") == "{}"
}

// close closes the target's connection.
func (t *target) close() {
	if t.conn != nil {
		_ = t.conn.Close()
	}
}

// dial opens a separate connection to the target through dialer (a network
// fault's link), waiting until it is ready.
func (t *target) dial(ctx context.Context, dialer func(context.Context, string) (net.Conn, error)) (*grpc.ClientConn, error) {
	conns, err := load.Dial(ctx, t.addr, load.DialOptions{TLS: t.tls, Dialer: dialer, Timeout: connectTimeout})
	if err != nil {
		return nil, err
	}
	return conns[0], nil
}

// answer is what a call got back.
type answer struct {
	code    codes.Code
	reason  string
	message string
	// texts are everything of the answer a token could be echoed in: the
	// message, each detail's bytes, and header and trailer metadata.
	texts   []string
	latency time.Duration
}

// do makes one call of p on conn with md as its metadata, within timeout.
func (t *target) do(ctx context.Context, conn *grpc.ClientConn, p *prepared, md metadata.MD, timeout time.Duration, opts ...grpc.CallOption) answer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if len(md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	var header, trailer metadata.MD
	start := time.Now()
	var err error
	if p.stream {
		err = t.streamCall(ctx, conn, p, &header, &trailer, opts)
	} else {
		opts = append(opts, grpc.Header(&header), grpc.Trailer(&trailer))
		err = conn.Invoke(ctx, p.method, p.msg, &emptypb.Empty{}, opts...)
	}
	a := answer{latency: time.Since(start)}
	st := status.Convert(err)
	d := reason.FromStatus(st)
	a.code, a.reason, a.message = d.Code, string(d.Reason), st.Message()
	a.texts = append(a.texts, st.Message())
	for _, det := range st.Proto().GetDetails() {
		a.texts = append(a.texts, string(det.GetValue()))
	}
	for _, m := range []metadata.MD{header, trailer} {
		for k, vs := range m {
			a.texts = append(a.texts, k)
			a.texts = append(a.texts, vs...)
		}
	}
	return a
}

// streamCall sends p's request on a server stream and reads the answers to the end.
func (t *target) streamCall(ctx context.Context, conn *grpc.ClientConn, p *prepared, header, trailer *metadata.MD, opts []grpc.CallOption) error {
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{StreamName: p.method, ServerStreams: true}, p.method, opts...)
	if err != nil {
		return err
	}
	defer func() { *trailer = st.Trailer() }()
	// io.EOF from SendMsg means the server already ended the stream; RecvMsg says how.
	if err := st.SendMsg(p.msg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	for {
		err := st.RecvMsg(&emptypb.Empty{})
		if *header == nil {
			*header, _ = st.Header()
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
