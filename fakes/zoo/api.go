package zoo

import (
	"context"
	"slices"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// rpc is one method of a zoo service, with well-known message types so no
// .proto file is needed.
type rpc struct {
	name    string
	in, out proto.Message // prototypes: only their types are used
	// unary serves a unary call; stream, when set instead, a server-streaming one.
	unary  func(ctx context.Context, in proto.Message) (proto.Message, error)
	stream func(in proto.Message, send func(proto.Message) error) error
}

// api is a gRPC service registered by hand, with a descriptor built in Go
// for server reflection.
type api struct {
	pkg, name string // "orders.v1", "Orders"
	file      string // the descriptor's file name
	rpcs      []rpc
}

// fullName is the service's full name, "orders.v1.Orders".
func (a *api) fullName() string { return a.pkg + "." + a.name }

// method is the full method name of the rpc named name.
func (a *api) method(name string) string { return "/" + a.fullName() + "/" + name }

// owns reports whether fullMethod is one of a's methods.
func (a *api) owns(fullMethod string) bool {
	return slices.ContainsFunc(a.rpcs, func(r rpc) bool { return a.method(r.name) == fullMethod })
}

// desc is a's grpc.ServiceDesc; each handler that runs counts in calls (nil: not counted).
func (a *api) desc(calls *atomic.Int64) *grpc.ServiceDesc {
	sd := &grpc.ServiceDesc{ServiceName: a.fullName(), HandlerType: (*any)(nil), Metadata: a.file}
	count := func() {
		if calls != nil {
			calls.Add(1)
		}
	}
	for _, r := range a.rpcs {
		if r.stream != nil {
			sd.Streams = append(sd.Streams, grpc.StreamDesc{StreamName: r.name, ServerStreams: true,
				Handler: func(_ any, ss grpc.ServerStream) error {
					in := r.in.ProtoReflect().New().Interface()
					if err := ss.RecvMsg(in); err != nil {
						return err
					}
					count()
					return r.stream(in, func(m proto.Message) error { return ss.SendMsg(m) })
				}})
			continue
		}
		full := a.method(r.name)
		sd.Methods = append(sd.Methods, grpc.MethodDesc{MethodName: r.name,
			Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
				in := r.in.ProtoReflect().New().Interface()
				if err := dec(in); err != nil {
					return nil, err
				}
				handle := func(ctx context.Context, req any) (any, error) {
					count()
					return r.unary(ctx, req.(proto.Message))
				}
				if icpt == nil {
					return handle(ctx, in)
				}
				return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, handle)
			}})
	}
	return sd
}

// fileProto is a's descriptor as a FileDescriptorProto.
func (a *api) fileProto() *descriptorpb.FileDescriptorProto {
	svc := &descriptorpb.ServiceDescriptorProto{Name: proto.String(a.name)}
	var deps []string
	typeName := func(m proto.Message) *string {
		d := m.ProtoReflect().Descriptor()
		if p := d.ParentFile().Path(); !slices.Contains(deps, p) {
			deps = append(deps, p)
		}
		return proto.String("." + string(d.FullName()))
	}
	for _, r := range a.rpcs {
		svc.Method = append(svc.Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(r.name), InputType: typeName(r.in), OutputType: typeName(r.out),
			ServerStreaming: proto.Bool(r.stream != nil),
		})
	}
	slices.Sort(deps)
	return &descriptorpb.FileDescriptorProto{
		Name: proto.String(a.file), Package: proto.String(a.pkg), Dependency: deps,
		Service: []*descriptorpb.ServiceDescriptorProto{svc}, Syntax: proto.String("proto3"),
	}
}

// descriptorFiles is a registry of apis' files and the well-known files they
// use: the server reflection's source, kept out of the global registry.
func descriptorFiles(apis ...*api) (*protoregistry.Files, error) {
	files := new(protoregistry.Files)
	for _, fd := range []protoreflect.FileDescriptor{
		emptypb.File_google_protobuf_empty_proto, wrapperspb.File_google_protobuf_wrappers_proto,
		structpb.File_google_protobuf_struct_proto,
	} {
		if err := files.RegisterFile(fd); err != nil {
			return nil, err
		}
	}
	for _, a := range apis {
		fd, err := protodesc.NewFile(a.fileProto(), files)
		if err != nil {
			return nil, err
		}
		if err := files.RegisterFile(fd); err != nil {
			return nil, err
		}
	}
	return files, nil
}
