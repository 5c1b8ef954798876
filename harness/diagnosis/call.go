package diagnosis

import (
	"time"

	"google.golang.org/grpc/codes"
)

// Phases of a failed call, for Call.Phase.
const (
	// PhaseGrant means the call failed while the grant was being obtained (the approval), before the service was called.
	PhaseGrant = "grant"
	// PhaseCall means the call failed at the service; an empty Phase means the same.
	PhaseCall = "call"
)

// Call is what is known about one failed call.
type Call struct {
	// Code is the gRPC status code the call ended with.
	Code codes.Code
	// Message is the status message as the target sent it (it may echo a token: it is redacted before use).
	Message string
	// Reason is the google.rpc.ErrorInfo reason the target sent, or "" (usual for a foreign service).
	Reason string
	// Phase is PhaseGrant or PhaseCall ("" means PhaseCall).
	Phase string
	// Sent is when the call was sent, by our clock; zero means unknown (times are then not judged).
	Sent time.Time
	// Identity and Grant are the raw tokens exactly as sent; "" means not attached. In the
	// single-token profile the one token is Grant, whichever header carried it.
	Identity, Grant string
	// Deadline is the call's deadline (zero: none or unknown), Latency the time the call took,
	// GrantWait the time spent obtaining the grant (approval) before the call.
	Deadline, Latency, GrantWait time.Duration
	// Attempts is how many times the call was tried (0 or 1: once).
	Attempts int
	// RetriesExtendDeadline says each retry had a deadline of its own.
	RetriesExtendDeadline bool
	// Faults are the faults in force when the call was made.
	Faults []Fault
}

// Fault is one fault in force when a call was made.
type Fault struct {
	// Kind is the fault kind: "grpc-fault", "network", "network-latency", "network-partition",
	// "key-source-outage", "broker-down", "token-mutation", "clock-skew", "approval", ...
	Kind string
	// What says in words what the fault does, e.g. "aborted /x.Y/Z with UNAVAILABLE".
	What string
	// Code is the status a fault that ends calls answers with (a proxy abort), when known;
	// OK means read it from What, if What names one.
	Code codes.Code
}
