// Package diagnosis explains a failed call to a service that is not the
// reference: from what jitbench knows of the call (the status code, message
// and reason the target returned, the tokens it sent, the deadline, the
// approval wait, the retries and the faults in force) and of the target
// (its declared and measured figures), it names the most likely cause, in
// one line with the figures, and what to change.
//
// A foreign service rarely sends a structured reason, so the tokens sent are
// decoded, strictly and without trusting them, and judged against the
// target's apparent clock and declared config; timings are set against the
// deadline; faults in force are matched to what they do. The status message
// decides only when the tokens look valid by every check, and a refusal that
// nothing explains is said to be unknown, with what was checked and found
// fine. Summaries and fixes never carry a token, nor a long run of one: the
// message, which comes from the target, is redacted before it is quoted.
//
// Each cause is one row of the rule table (rules.go). The precedence: the
// strongest evidence wins, and among equally strong evidence the earlier row.
// From the strongest:
//
//  1. evidence: the tokens' contents judged against the target's apparent
//     clock and config (missing, malformed, alg, signature with the
//     issuers' keys, iss, aud, exp, nbf, lifetime), the timings against the
//     deadline, the phase and code, and a fault in force that produces
//     exactly what was seen (a proxy abort with the call's code, a network
//     fault for UNAVAILABLE or DEADLINE_EXCEEDED);
//  2. a reason of the reference catalog (google.rpc.ErrorInfo) the target sent;
//  3. a fault in force that would make the service refuse valid tokens (a
//     key source outage, a skewed clock, a forged credential);
//  4. the words of the message or of a foreign reason; the fallback for
//     UNAVAILABLE ("the service was unreachable") ranks here too.
//
// The rows run in the order a call meets its checks: obtaining the grant,
// the transport and the deadline, then the credentials in the order a
// verifier checks them, then what only the service can know. A credential
// row looks at the identity token first when the code is UNAUTHENTICATED,
// else at the grant first; in the single-token profile only the grant counts.
package diagnosis
