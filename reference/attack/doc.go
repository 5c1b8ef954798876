// Package attack holds the reference's attack regression suite: one test per
// finding of the outside attack on the reference JIT system, each through a
// real gRPC call or a real process, so a fix that regresses fails here by name.
// The package has no code of its own; everything is in its tests.
package attack
