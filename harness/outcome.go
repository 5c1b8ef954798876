package harness

import (
	"context"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/fakes"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
)

// Phases of a call an outcome is attributed to.
const (
	// PhaseGrant is a failure while the client obtained its grant: approval
	// pending past the deadline, denied, or the broker unreachable.
	PhaseGrant = "grant"
	// PhaseCall is everything else: the call reached (or failed to reach) the service.
	PhaseCall = "call"
)

// Outcome is what one scenario call came back with.
type Outcome struct {
	// Index is the call's position in the load, from 0.
	Index int `json:"index"`
	// Method is the full method called.
	Method string `json:"method"`
	// Code, Reason, Message and Metadata are the final status and its ErrorInfo.
	Code     codes.Code        `json:"code"`
	Reason   reason.Reason     `json:"reason,omitempty"`
	Message  string            `json:"message,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Phase is PhaseGrant or PhaseCall.
	Phase string `json:"phase"`
	// At is when the call was sent, from the start of the run.
	At time.Duration `json:"at"`
	// Latency is the call's latency as the load generator recorded it: from
	// the first attempt's start to the last attempt's end (in open loop, from
	// when the call was due).
	Latency time.Duration `json:"latency"`
	// GrantWait is the time spent obtaining a grant from the grant source; zero when a cached grant was used.
	GrantWait time.Duration `json:"grant_wait,omitempty"`
	// GrantFetched says the grant source was asked (not served from the cache).
	GrantFetched bool `json:"grant_fetched,omitempty"`
	// Deadline is the deadline each attempt had.
	Deadline time.Duration `json:"deadline"`
	// Attempts counts the tries, retries included.
	Attempts int `json:"attempts"`
	// MayHaveRun counts the attempts that left the client and were not
	// refused: the protected handler may have run for each (for an OK one it did).
	MayHaveRun int `json:"may_have_run"`
	// Diagnosis explains a failed call to a user's service (topology
	// external) from what it returned and what was sent; nil otherwise.
	Diagnosis *Diagnosis `json:"diagnosis,omitempty"`

	// sent is the last attempt's trace on topology external: the tokens it
	// carried, for the diagnosis; kept in memory, never written out.
	sent *trace
}

// Denied reports whether the outcome is a refusal of the caller (UNAUTHENTICATED or PERMISSION_DENIED).
func (o Outcome) Denied() bool {
	return o.Code == codes.Unauthenticated || o.Code == codes.PermissionDenied
}

// statusErr returns the outcome as the status error a call with it ends
// with: its code and message, and an ErrorInfo with its reason and
// metadata; nil for OK. The load generator reads code and reason back from it.
func (o Outcome) statusErr() error {
	if o.Code == codes.OK {
		return nil
	}
	st := status.New(o.Code, o.Message)
	if o.Reason != "" {
		info := &errdetails.ErrorInfo{Reason: string(o.Reason), Domain: reason.Domain, Metadata: o.Metadata}
		if withInfo, err := st.WithDetails(info); err == nil {
			st = withInfo
		}
	}
	return st.Err()
}

// streams reports whether a call of method goes to a streaming method: the
// Vault's List, or on a user's service its config's stream method.
func (c *caller) streams(method string) bool {
	if c.external != nil {
		return c.external.streams(method)
	}
	return isStream(method)
}

// knobMethod is the method a call of method goes to under the client
// knobs s: another one, or the service's streaming method (the Vault's
// List; on a user's service it is mapped to the config's stream method).
func knobMethod(method string, s fakes.ClientSettings) string {
	switch {
	case s.Method != "":
		return s.Method
	case s.Stream:
		return demov1.Vault_List_FullMethodName
	}
	return method
}

// retryable codes are those a client retry loop tries again: a deadline or an outage may pass.
func retryable(c codes.Code) bool { return c == codes.DeadlineExceeded || c == codes.Unavailable }

// do makes a call with the client knobs in force when it starts, retrying
// as they say, and returns its outcome. Its Index, At and Latency are left
// to whoever numbers and times the call: the load generator.
func (c *caller) do(ctx context.Context) Outcome {
	s := c.env.client.Use() // counted on every client fault in force: the call met it
	sc := c.env.sc.Client
	method, deadline := sc.Method, sc.Deadline
	method = knobMethod(method, s)
	if s.Deadline > 0 {
		deadline = s.Deadline
	}
	client := demov1.NewVaultClient(c.vaultConn)
	out := Outcome{Method: method, Deadline: deadline, Phase: PhaseCall}
	if c.external != nil {
		out.Method = c.external.methodFor(method)
	}

	first, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var tries []Outcome
	for attempt := 0; attempt <= max(s.Retries, 0); attempt++ {
		actx := first
		if attempt > 0 && s.ExtendDeadlineOnRetry {
			var cancelRetry context.CancelFunc
			actx, cancelRetry = context.WithTimeout(ctx, deadline)
			defer cancelRetry()
		}
		tr := &trace{settings: s, method: method, stream: c.streams(method)}
		var d reason.Details
		if c.external != nil {
			d = c.callExternal(withTrace(actx, tr), tr)
			out.sent = tr
		} else {
			d = reason.FromError(invoke(withTrace(actx, tr), client, method, sc.Resource))
		}
		try := Outcome{Code: d.Code, Reason: d.Reason, Message: d.Message, Metadata: d.Metadata, Phase: PhaseCall}
		wait, fetched, grantErr := tr.grantResult()
		out.GrantWait += wait
		out.GrantFetched = out.GrantFetched || fetched
		if d.Code != codes.OK && grantErr != nil {
			try.Phase = PhaseGrant
		}
		if tr.wasSent() && !try.Denied() {
			out.MayHaveRun++
		}
		tries = append(tries, try)
		if !retryable(d.Code) || ctx.Err() != nil {
			break
		}
	}
	out.Attempts = len(tries)
	final := tries[len(tries)-1]
	// A retry on an already expired deadline fails before it is sent and
	// carries no reason; the attempt that used the deadline up says why.
	if final.Reason == "" {
		for i := len(tries) - 2; i >= 0; i-- {
			if tries[i].Code == final.Code && tries[i].Reason != "" {
				final = tries[i]
				break
			}
		}
	}
	out.Code, out.Reason, out.Message, out.Metadata, out.Phase = final.Code, final.Reason, final.Message, final.Metadata, final.Phase
	return out
}

// Diagnosis is the cause of one failed call to a user's service, told
// from what the service returned and what the call carried.
type Diagnosis struct {
	// Cause is a stable id, e.g. "token-expired"; "unknown" when it cannot be told.
	Cause string `json:"cause"`
	// Summary says it in one line with its figures; Fix says what to change.
	Summary string `json:"summary"`
	Fix     string `json:"fix,omitempty"`
	// Known is false when the cause cannot be told: Summary then says why.
	Known bool `json:"known"`
}
