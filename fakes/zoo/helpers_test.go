package zoo_test

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// statusCode is err's gRPC code.
func statusCode(err error) codes.Code { return status.Code(err) }

// metadataContext is a background context carrying c's metadata.
func metadataContext(c call) context.Context {
	return metadata.NewOutgoingContext(context.Background(), c.md)
}
