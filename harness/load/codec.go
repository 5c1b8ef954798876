package load

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// rawCodec sends a payload prepared once as it is and never decodes the
// answer: the generator needs no generated stubs, and no call pays for
// marshalling. It calls itself "proto" so the content type is the one every
// gRPC server expects; the bytes are protobuf already.
type rawCodec struct{}

var _ encoding.CodecV2 = rawCodec{}

// payload is a request already in wire form.
type payload struct {
	// data is shared by every call: gRPC only reads a marshalled message, and
	// a SliceBuffer's reference counting is a no-op, so no call copies it.
	data mem.BufferSlice
}

func newPayload(b []byte) *payload {
	return &payload{data: mem.BufferSlice{mem.SliceBuffer(b)}}
}

// discard receives answers; the generator only needs their status.
type discard struct{}

// Marshal returns the prepared payload.
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if p, ok := v.(*payload); ok {
		return p.data, nil
	}
	return nil, errNotPayload
}

// Unmarshal drops the answer; gRPC frees its buffers when this returns.
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }

// Name is "proto": the bytes on the wire are protobuf.
func (rawCodec) Name() string { return "proto" }
