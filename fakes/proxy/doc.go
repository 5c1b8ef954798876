// Package proxy is an in-path fault proxy for gRPC (HTTP/2) and, in a
// smaller mode, plain HTTP: client → proxy → service, or service → proxy →
// its key source, identity provider or broker.
//
// The gRPC proxy is a grpc.Server whose unknown-service handler forwards
// every method as raw bytes to one grpc.ClientConn, so unary calls, client,
// server and bidirectional streams, metadata, headers, trailers and status
// details pass through untouched, and faults act at the gRPC level: abort a
// method with a chosen status, drop a credential header, shorten the
// deadline the service sees, as well as latency, bandwidth, blackhole and
// reset.
//
// Each fault kind lives in its own file behind the small Fault interface
// and registers itself by name. Faults are described by a Spec (kind,
// scope, probability, params), compose in the order they were added, and
// are switched live through Faults (Add, Update, Remove by name), the
// HTTP/JSON control API (ControlHandler), a start-time flag syntax
// (ParseSpec) or file (LoadFile), and, when enabled, per call from
// Envoy-style request headers (gRFC A33).
package proxy
