// Package buggy holds deliberately broken JIT-protected services: each serves
// the demo Vault behind a hand-rolled pair of interceptors that gets exactly
// one thing wrong (accepts alg none, ignores exp, reads keys from the path in
// kid, ...) and is otherwise correct under the two-token model.
//
// They exist only to prove that jitbench's conformance suite catches real
// mistakes: running it against each service must fail with the cases that
// name its bug. Never use this code as an example of how to verify tokens —
// reference/token and reference/interceptor are the examples.
package buggy
