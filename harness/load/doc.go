// Package load generates gRPC load and records it into a reports.Result.
//
// A run is open loop or closed loop. In open loop a Pacer says when each
// call is due (a constant rate, a linear ramp or steps) and the generator
// sends it then, whatever the server is doing; latency is measured from that
// intended time, so a server that stalls for two seconds shows two seconds
// in the tail instead of the few milliseconds a tool measuring from the
// actual send reports (coordinated omission). In closed loop a fixed number
// of workers each make one call after another (or one per Interval), and
// latency is measured from the actual send.
//
// A Target makes one call; Method calls any gRPC method with a payload
// prepared once, through a codec that passes bytes through, so no generated
// stubs are needed: the payload comes from JSON converted through server
// reflection (Schema) or from a binary file. Credentials add the JIT
// model's identity and grant to each call, obtaining grants per call, once
// per worker, or once per worker and renewed before expiry (Grants). A
// CallTarget is told each call's number and worker, and Options.Observe
// sees each call as it was recorded: the scenario harness drives its own
// caller this way and keeps every call's outcome beside the histograms.
//
// A run whose grants come from a broker can wait on approvals nobody gives.
// An ApprovalWatch wraps the broker client and counts the access requests
// pending; a PendingGuard checks the run every second (on a clockwork
// clock) and reports it stuck when, three checks in a row, every call
// under way waited on a pending request and nothing was decided or passed.
// Abort then ends the run at once: its calls in flight are cancelled and
// left out of the result. Where no progress bar can be drawn (Interactive
// is false), a ProgressLog writes a line every few seconds instead.
//
// The result keeps each failed call's status message (reports.Sample's
// Message): the most frequent per code and reason, tokens redacted.
//
// Memory is bounded whatever the number of calls: results go into a
// reports.Recorder, which keeps histograms, never samples, and open loop
// keeps at most MaxInFlight calls (and goroutines) in flight; a call that
// cannot start on time waits and is still measured from its intended time.
// At the end, calls in flight finish within their deadline and count like
// any other: a run that ends never turns them into errors.
package load
