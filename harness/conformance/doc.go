// Package conformance checks that a JIT-protected gRPC service answers
// every credential and timing fault of the conformance catalog
// (CONFORMANCE.md) with the right status: no accepted `alg: none`, no
// UNKNOWN on a malformed token, UNAUTHENTICATED for an unknown caller and
// PERMISSION_DENIED for a known one who is not permitted now.
//
// The catalog is code (Catalog): each case has its published id, the fault,
// the code expected under the two-token and the single-token profile, the
// codes allowed instead, and what it needs beyond the target's port. Every
// case is also held to the rules of the catalog (Rules): a negative case
// never returns OK and never reaches the handler, a credential fault never
// answers UNKNOWN or INTERNAL, PERMISSION_DENIED only follows a verified
// identity, no token is echoed, and every call ends within a bound.
//
// A target is described by a Config, read from a YAML file (LoadConfig;
// ExampleConfig is a commented example valid against `jitbench serve`) or
// filled in from Go, where hooks a file cannot hold are also available:
// HandlerCalls (proves the handler never ran) and KeySource (controls the
// target's key source for DL-003, OUT-002 and OUT-003). RunSuite runs the
// suite and returns a reports.ConformanceResult; Run does the same from a
// Go test, one subtest per case.
package conformance
