package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/jitbench/jitbench/reference/filecap"
)

// healthService is gRPC's health service: the control of a target that has one.
const healthService = "grpc.health.v1.Health"

// infraServices are services of the gRPC machinery, never the protected API.
var infraServices = []string{healthService, "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}

// apiSurface is what init learnt of a target's services.
type apiSurface struct {
	// methods are the methods of every service whose descriptor was found, in declaration order.
	methods []protoreflect.MethodDescriptor
	// health says the target serves grpc.health.v1.Health.
	health bool
	// source says where the descriptors came from, for messages.
	source string
}

// find returns the method called full ("/pkg.Service/Method"), or nil.
func (a *apiSurface) find(full string) protoreflect.MethodDescriptor {
	for _, m := range a.methods {
		if methodName(m) == full {
			return m
		}
	}
	return nil
}

// methodName is m's full name as gRPC writes it: /pkg.Service/Method.
func methodName(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

// surfaceOf lists the methods of every service in files, the gRPC machinery's left out.
func surfaceOf(files *protoregistry.Files, names []string, source string) *apiSurface {
	a := &apiSurface{source: source, health: slices.Contains(names, healthService)}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			svc := fd.Services().Get(i)
			if slices.Contains(infraServices, string(svc.FullName())) {
				a.health = a.health || svc.FullName() == healthService
				continue
			}
			for j := range svc.Methods().Len() {
				a.methods = append(a.methods, svc.Methods().Get(j))
			}
		}
		return true
	})
	slices.SortStableFunc(a.methods, func(x, y protoreflect.MethodDescriptor) int {
		return strings.Compare(string(x.Parent().FullName()), string(y.Parent().FullName()))
	})
	return a
}

// surfaceFromSet lists the services of a FileDescriptorSet file.
func surfaceFromSet(path string) (*apiSurface, error) {
	files, err := readDescriptorSet(path)
	if err != nil {
		return nil, err
	}
	return surfaceOf(files, nil, path), nil
}

// readDescriptorSet reads a FileDescriptorSet file as a registry.
func readDescriptorSet(path string) (*protoregistry.Files, error) {
	data, err := filecap.ReadFile(path, descriptorSetCap)
	if err != nil {
		return nil, fmt.Errorf("descriptor set: %w", err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(data, set); err != nil {
		return nil, fmt.Errorf("descriptor set %s is not a FileDescriptorSet: %w", path, err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("descriptor set %s: %w", path, err)
	}
	return files, nil
}

// ErrNoReflection is wrapped by init's error when the target offers no
// server reflection and no descriptor set was given.
var ErrNoReflection = errors.New("the target offers no server reflection")

// surfaceFromReflection asks the target for its services and their files.
func surfaceFromReflection(ctx context.Context, conn grpc.ClientConnInterface) (*apiSurface, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, reflectionErr(err)
	}
	defer func() { _ = stream.CloseSend() }()
	ask := func(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				_, err = stream.Recv() // the status that ended the stream
			}
			return nil, reflectionErr(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			return nil, reflectionErr(err)
		}
		return resp, nil
	}
	resp, err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	seen := map[string]*descriptorpb.FileDescriptorProto{}
	add := func(resp *rpb.ServerReflectionResponse) {
		for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if proto.Unmarshal(raw, fd) == nil {
				seen[fd.GetName()] = fd
			}
		}
	}
	for _, name := range names {
		if slices.Contains(infraServices, name) {
			continue // its descriptor may not be served, and it is not the API
		}
		resp, err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name}})
		if err != nil {
			return nil, err
		}
		add(resp)
	}
	// The server may leave out imports it believes were sent before; ask for each missing one.
	for asked := map[string]bool{}; ; {
		missing := ""
		for _, fd := range seen {
			for _, dep := range fd.GetDependency() {
				if seen[dep] == nil && !asked[dep] {
					missing = dep
				}
			}
		}
		if missing == "" {
			break
		}
		asked[missing] = true
		resp, err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: missing}})
		if err != nil {
			return nil, err
		}
		add(resp)
		if seen[missing] == nil {
			// A well-known file the server does not serve: this process has it.
			if fd, err := protoregistry.GlobalFiles.FindFileByPath(missing); err == nil {
				seen[missing] = protodesc.ToFileDescriptorProto(fd)
			}
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
	return surfaceOf(files, names, "server reflection"), nil
}

// reflectionErr says a reflection failure in words; Unimplemented is ErrNoReflection.
func reflectionErr(err error) error {
	if status.Code(err) == codes.Unimplemented {
		return fmt.Errorf("%w: give its descriptor set (--descriptor-set, protoc --descriptor_set_out --include_imports)", ErrNoReflection)
	}
	return fmt.Errorf("server reflection: %s", status.Convert(err).Message())
}
