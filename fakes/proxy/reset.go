package proxy

import "context"

// reset resets the client's connection.
type reset struct{}

func init() {
	Register(Kind{
		Name: "reset",
		Summary: "reset the client's connection: gRPC closes the TCP connection with RST (every call on it fails UNAVAILABLE), " +
			"HTTP aborts the response",
		Protocols: GRPC | HTTP,
		New:       func(Params, Protocol) (Fault, error) { return reset{}, nil },
	})
}

func (reset) Apply(context.Context, *Call) error { return ErrReset }
