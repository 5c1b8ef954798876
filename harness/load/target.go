package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
)

// Target makes one call of a load run. The context carries the call's
// deadline and metadata; the error is the call's status (nil for OK).
type Target interface {
	// Call makes one call.
	Call(ctx context.Context) error
}

// TargetFunc adapts a function to a Target.
type TargetFunc func(ctx context.Context) error

// Call calls f(ctx).
func (f TargetFunc) Call(ctx context.Context) error { return f(ctx) }

var (
	_ Target = TargetFunc(nil)
	_ Target = (*Method)(nil)
)

// Method calls one gRPC method with a request prepared once, over a pool of
// connections taken in turn. It needs no generated code: the request is
// already protobuf bytes and answers are dropped unread.
type Method struct {
	conns   []*grpc.ClientConn
	name    string
	request *payload
	stream  *grpc.StreamDesc // nil for a unary method
	next    atomic.Uint64
	opts    []grpc.CallOption
}

// NewMethod returns a target calling the full method name ("/pkg.Svc/Method")
// with request on conns in turn. serverStreams says the method answers with a
// stream, which each call reads to its end.
func NewMethod(conns []*grpc.ClientConn, name string, request []byte, serverStreams bool) (*Method, error) {
	if len(conns) == 0 {
		return nil, errors.New("load: a method target needs at least one connection")
	}
	full, err := NormalizeMethod(name)
	if err != nil {
		return nil, err
	}
	m := &Method{
		conns:   conns,
		name:    full,
		request: newPayload(request),
		opts:    []grpc.CallOption{grpc.ForceCodecV2(rawCodec{})},
	}
	if serverStreams {
		m.stream = &grpc.StreamDesc{StreamName: full, ServerStreams: true}
	}
	return m, nil
}

// Name returns the full method name.
func (m *Method) Name() string { return m.name }

// Call implements Target on the next connection of the pool.
func (m *Method) Call(ctx context.Context) error {
	conn := m.conns[0]
	if len(m.conns) > 1 {
		conn = m.conns[m.next.Add(1)%uint64(len(m.conns))]
	}
	if m.stream == nil {
		return conn.Invoke(ctx, m.name, m.request, discard{}, m.opts...)
	}
	st, err := conn.NewStream(ctx, m.stream, m.name, m.opts...)
	if err != nil {
		return err
	}
	if err := st.SendMsg(m.request); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	// io.EOF from SendMsg means the server already ended the stream; RecvMsg says how.
	if err := st.CloseSend(); err != nil {
		return err
	}
	for {
		if err := st.RecvMsg(discard{}); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// NormalizeMethod returns a method name in the form gRPC sends,
// "/pkg.Service/Method", from that form, "pkg.Service/Method" or
// "pkg.Service.Method" (as ghz and grpcurl write it).
func NormalizeMethod(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "/")
	svc, m, ok := strings.Cut(s, "/")
	if !ok {
		i := strings.LastIndexByte(s, '.')
		if i < 0 {
			return "", fmt.Errorf("method %q: want /package.Service/Method", s)
		}
		svc, m = s[:i], s[i+1:]
	}
	if svc == "" || m == "" || strings.Contains(m, "/") || strings.ContainsAny(svc, " /") || strings.ContainsAny(m, " .") {
		return "", fmt.Errorf("method %q: want /package.Service/Method", s)
	}
	return "/" + svc + "/" + m, nil
}
