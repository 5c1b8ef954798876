// Package measure measures how a user's JIT-protected gRPC service handles
// its tokens, and compares each figure with what the service's target
// config declares: its leeway and clock offset, the longest grant it
// accepts, how long a revocation takes to propagate, and how long it takes
// to honour a new signing key and a removed one.
//
// A measurement searches for the point where the target's answer flips,
// sending one valid grant at a time, changed in one claim, through a Target
// (FromSession adapts a conformance.Session). Every measurement first sends
// a fresh valid grant: a target that refuses even that is an error, never a
// figure. A probe is one call; OK is acceptance, any other decision a
// refusal, and UNAVAILABLE, DEADLINE_EXCEEDED and the like an error, as a
// figure built on a transport failure would be wrong.
//
// Searches over a claim bisect: one probe at the bound (a target that
// accepts even that is reported as "more than the bound", never as a
// figure), then ⌈log2(range)⌉ probes. Claims are whole seconds, so figures
// found this way have a resolution of ±1 s, which is also the tolerance of
// their comparison with the config.
//
// Leeway and clock offset: with the target's clock at ours + d and its
// leeway L, a grant with exp = now − x is accepted while x ≤ L − d, and one
// with nbf = now + y (iat too, for layouts that have only iat) while
// y ≤ L + d. Bisecting each side gives x* ≈ L − d and y* ≈ L + d, so
// L = (x* + y*)/2 and d = (y* − x*)/2. Each probe records the fraction of
// a second its whole-second claims dropped, so each edge is known to
// within a bracket about a second wide, whose middle is the estimate; the
// exp side starts from the control grant (exp a lifetime ahead, so a
// target ahead of us by more than its leeway is still measured). A side
// that never flips within the bound (24 h) leaves the offset unknown.
//
// Longest lifetime: exp − iat is bisected with nbf = iat = now, up to 30 days.
//
// Revocation and key rotation are timings, not searches: they poll at an
// interval (20 ms and 100 ms by default), which is their resolution, and
// end a sample "still accepted" at a bound. Revocation needs the config's
// revoke hook; key rotation needs a key source the suite controls. Without
// them the result is CannotMeasure, saying why, not an error.
//
// Measurements are registered by name (Lookup): leeway, max-lifetime,
// revocation and key-rotation.
package measure
