package proxy

import (
	"fmt"

	"google.golang.org/grpc/mem"
)

// frame is one gRPC message as the bytes on the wire, never decoded.
type frame struct {
	data mem.BufferSlice
}

// size is the message's length in bytes.
func (f *frame) size() int { return f.data.Len() }

// free drops the frame's reference when it was not handed to a Marshal.
func (f *frame) free() {
	if f.data != nil {
		f.data.Free()
		f.data = nil
	}
}

// rawCodec passes messages through as bytes. Unmarshal keeps a reference
// to the received buffers and Marshal hands that same reference to the
// send, which frees it: no copy, whatever the message type.
type rawCodec struct{}

// Marshal returns the frame's buffers, giving up the frame's reference.
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("jitbench proxy codec: cannot marshal %T", v)
	}
	out := f.data
	f.data = nil
	return out, nil
}

// Unmarshal keeps a reference to data in the frame.
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("jitbench proxy codec: cannot unmarshal into %T", v)
	}
	data.Ref()
	f.data = data
	return nil
}

// Name is empty, so that a forwarded call keeps the plain content-type
// application/grpc when its client sent that; a client's own subtype
// (application/grpc+json) is passed on with grpc.CallContentSubtype.
func (rawCodec) Name() string { return "" }
