package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// ErrUnknownMethod is wrapped by a resolver's error when the server does not know the method or its service.
var ErrUnknownMethod = errors.New("unknown method")

// ErrNoReflection is wrapped by Reflection's error when the server does not offer server reflection.
var ErrNoReflection = errors.New("the server does not offer server reflection")

// Schema is a method's descriptor and the message types around it: what
// it takes to read the method's request from JSON without generated code.
type Schema struct {
	// Method describes the method.
	Method protoreflect.MethodDescriptor
	types  *dynamicpb.Types
}

// Request converts a request written in protobuf JSON into the method's
// input message in wire form.
func (s *Schema) Request(data []byte) ([]byte, error) {
	msg := dynamicpb.NewMessage(s.Method.Input())
	if err := (protojson.UnmarshalOptions{Resolver: s.types}).Unmarshal(data, msg); err != nil {
		return nil, fmt.Errorf("not a %s in JSON: %w", s.Method.Input().FullName(), err)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(msg)
}

// Resolver finds the schema of a method by its full name ("/pkg.Svc/Method").
type Resolver interface {
	// Resolve returns the method's schema; an error wraps ErrUnknownMethod when it does not exist.
	Resolve(ctx context.Context, method string) (*Schema, error)
}

// ResolverFunc adapts a function to a Resolver.
type ResolverFunc func(ctx context.Context, method string) (*Schema, error)

// Resolve calls f(ctx, method).
func (f ResolverFunc) Resolve(ctx context.Context, method string) (*Schema, error) {
	return f(ctx, method)
}

var _ Resolver = ResolverFunc(nil)

// Local resolves methods from descriptors already in this process, such as
// protoregistry.GlobalFiles for the reference linked into jitbench.
func Local(files *protoregistry.Files) Resolver {
	return ResolverFunc(func(_ context.Context, method string) (*Schema, error) {
		return find(files, method)
	})
}

// Reflection resolves methods by asking the server over conn with gRPC
// server reflection (grpc.reflection.v1), fetching the service's file and
// every file it imports. ctx may carry metadata the server wants.
func Reflection(conn grpc.ClientConnInterface) Resolver {
	return ResolverFunc(func(ctx context.Context, method string) (*Schema, error) {
		full, err := NormalizeMethod(method)
		if err != nil {
			return nil, err
		}
		service := full[1:strings.LastIndexByte(full, '/')]
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			return nil, reflectionError(err)
		}
		files, err := fetchFiles(stream, service)
		if err != nil {
			return nil, err
		}
		return find(files, full)
	})
}

// fetchFiles fetches the file declaring service, then each import not yet
// seen, and builds a registry from them.
func fetchFiles(stream rpb.ServerReflection_ServerReflectionInfoClient, service string) (*protoregistry.Files, error) {
	seen := map[string]*descriptorpb.FileDescriptorProto{}
	ask := func(req *rpb.ServerReflectionRequest) error {
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				_, err = stream.Recv() // the status that ended the stream
			}
			return reflectionError(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			return reflectionError(err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			if codes.Code(e.GetErrorCode()) == codes.NotFound {
				return fmt.Errorf("%w: the server does not know service %s", ErrUnknownMethod, service)
			}
			return fmt.Errorf("server reflection: %s", e.GetErrorMessage())
		}
		for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if err := proto.Unmarshal(raw, fd); err != nil {
				return fmt.Errorf("server reflection sent a bad file descriptor: %w", err)
			}
			seen[fd.GetName()] = fd
		}
		return nil
	}
	if err := ask(&rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: service},
	}); err != nil {
		return nil, err
	}
	// The server may leave out imports it believes were sent before; ask for each missing one.
	for {
		missing := ""
		for _, fd := range seen {
			for _, dep := range fd.GetDependency() {
				if seen[dep] == nil {
					missing = dep
					break
				}
			}
			if missing != "" {
				break
			}
		}
		if missing == "" {
			break
		}
		if err := ask(&rpb.ServerReflectionRequest{
			MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: missing},
		}); err != nil {
			return nil, err
		}
		if seen[missing] == nil {
			return nil, fmt.Errorf("server reflection did not send %s", missing)
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range seen {
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("server reflection sent descriptors that do not fit together: %w", err)
	}
	return files, nil
}

// reflectionError says that reflection is missing rather than printing a bare UNIMPLEMENTED.
func reflectionError(err error) error {
	if status.Code(err) == codes.Unimplemented {
		return fmt.Errorf("%w (%s)", ErrNoReflection, status.Convert(err).Message())
	}
	return fmt.Errorf("server reflection: %w", err)
}

// find looks method up in files.
func find(files *protoregistry.Files, method string) (*Schema, error) {
	full, err := NormalizeMethod(method)
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(full, '/')
	service, name := full[1:i], full[i+1:]
	d, err := files.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil, fmt.Errorf("%w: no service %s", ErrUnknownMethod, service)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a service", ErrUnknownMethod, service)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		var have []string
		for j := range sd.Methods().Len() {
			have = append(have, string(sd.Methods().Get(j).Name()))
		}
		return nil, fmt.Errorf("%w: service %s has no method %s (it has %s)", ErrUnknownMethod, service, name, strings.Join(have, ", "))
	}
	return &Schema{Method: md, types: dynamicpb.NewTypes(files)}, nil
}
