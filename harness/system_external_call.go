package harness

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
)

// callExternal makes one attempt of a call to the user's service: the
// credentials the reference client would attach (its cache, its grant
// source through the broker), bent by the call's knobs, written into the
// service's own headers; then the target config's method, or its stream
// method when the knobs send the call to a stream.
func (c *caller) callExternal(ctx context.Context, tr *trace) reason.Details {
	x := c.external
	id, err := c.creds.GetRequestMetadata(ctx)
	if err != nil {
		return reason.FromError(err)
	}
	g, err := c.grantCreds.GetRequestMetadata(ctx)
	if err != nil {
		return reason.FromError(err)
	}
	identity, grant := tr.bend(strings.TrimPrefix(id[interceptor.IdentityHeader], "Bearer "), g[interceptor.GrantHeader])
	headers := x.session.Metadata(identity, grant)
	if tr.settings.IdentityHeader != nil && identity != "" && x.twoToken() {
		headers.Set(x.session.Config().IdentityHeader, tr.settings.IdentityHeader(identity)...)
	}
	tr.sentTokens(identity, grant)
	tr.markSent()
	a, err := x.session.Call(ctx, c.vaultConn, x.streams(tr.method), headers, callBackstop)
	if err != nil {
		// Preflight refuses a stream fault on a target without a stream method: this cannot happen.
		return reason.Details{Code: codes.FailedPrecondition, Message: err.Error()}
	}
	return reason.Details{Code: a.Code, Reason: reason.Reason(a.Reason), Message: a.Message}
}

// twoToken reports whether the service takes an identity and a grant.
func (x *externalSystem) twoToken() bool {
	return x.session.Config().Profile != conformance.SingleToken
}

// streams reports whether a call of method goes to the service's stream
// method: the knobs name a streaming method (the Vault's List, or the
// target's own stream method) instead of the scenario's.
func (x *externalSystem) streams(method string) bool {
	cfg := x.session.Config()
	return isStream(method) || (cfg.Stream != nil && method == cfg.Stream.Method)
}

// methodFor is the full method a call of method reaches on the service.
func (x *externalSystem) methodFor(method string) string {
	cfg := x.session.Config()
	if x.streams(method) && cfg.Stream != nil {
		return cfg.Stream.Method
	}
	return cfg.Method.Method
}
