// Package zoo holds JIT-protected gRPC services written as if by four other
// teams who never saw this repository: each has its own header names, claim
// layout, key format, key source and JWT library, and each comes in a
// correct build and in buggy builds that get exactly one thing wrong. Two
// of them can revoke a grant by its jti through an admin HTTP API of their
// own (Target.AdminURL, Convention.RevokePath), the way a jitbench target
// config's revoke hook calls it.
//
// The zoo is what the conformance suite is tested against: a correct build
// must pass every case of the catalog (../shared/CONFORMANCE.md, version 2)
// its capabilities allow, and each buggy build must fail the cases Catches
// names for its bug. The services never import the reference's token or
// interceptor packages; they verify tokens with the standard library,
// go-jose or golang-jwt, the way a third-party service would.
//
// Never copy this code as an example of token verification: the correct
// builds are correct for the catalog, not hardened products.
package zoo
