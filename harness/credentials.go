package harness

import (
	"context"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/jitbench/jitbench/fakes"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
)

// trace is one call attempt's client settings and what obtaining its grant
// did. It rides in the call's context, which grpc hands to per-RPC
// credentials, so settings apply per call even on a shared connection.
type trace struct {
	settings fakes.ClientSettings
	method   string
	stream   bool // the call goes to a streaming method of the service

	mu        sync.Mutex
	grantErr  error
	grantWait time.Duration
	fetched   bool
	sent      bool // the credentials were attached: the request left the client
	// identity and grantTok are the credentials sent to a user's service (never serialized).
	identity, grantTok string
}

type traceKey struct{}

func withTrace(ctx context.Context, tr *trace) context.Context {
	return context.WithValue(ctx, traceKey{}, tr)
}

func traceOf(ctx context.Context) *trace {
	tr, _ := ctx.Value(traceKey{}).(*trace)
	return tr
}

// isStream reports whether method is one of the Vault's streaming methods.
func isStream(method string) bool { return method == demov1.Vault_List_FullMethodName }

func (t *trace) omitIdentity() bool {
	return t.settings.OmitIdentity || (t.settings.OmitOnStreams && t.stream)
}

func (t *trace) omitGrant() bool {
	return t.settings.OmitGrant || (t.settings.OmitOnStreams && t.stream)
}

// grant records one request to the grant source.
func (t *trace) grant(wait time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.grantWait += wait
	t.grantErr = err
	t.fetched = true
}

func (t *trace) grantResult() (wait time.Duration, fetched bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.grantWait, t.fetched, t.grantErr
}

func (t *trace) markSent() {
	t.mu.Lock()
	t.sent = true
	t.mu.Unlock()
}

func (t *trace) wasSent() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent
}

// bend applies the call's knobs to the credentials the client would send:
// either left off, or rewritten (the token forger).
func (t *trace) bend(identity, grant string) (string, string) {
	if t.omitIdentity() {
		identity = ""
	} else if t.settings.Mutate != nil {
		identity = t.settings.Mutate("identity", identity)
	}
	if t.omitGrant() {
		grant = ""
	} else if t.settings.Mutate != nil {
		grant = t.settings.Mutate("grant", grant)
	}
	return identity, grant
}

// sentTokens keeps the credentials a call to the user's service carried,
// in memory only, for the diagnosis of its failure.
func (t *trace) sentTokens(identity, grant string) {
	t.mu.Lock()
	t.identity, t.grantTok = identity, grant
	t.mu.Unlock()
}

// tokens returns what sentTokens kept.
func (t *trace) tokens() (identity, grant string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.identity, t.grantTok
}

// callCredentials attaches the reference client's credentials, then applies
// the call's knobs: credentials left off (all calls, or streams only) and
// credentials rewritten before they are sent (the token forger).
type callCredentials struct {
	inner *interceptor.Credentials
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *callCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	md, err := c.inner.GetRequestMetadata(ctx, uri...)
	if err != nil {
		return nil, err
	}
	tr := traceOf(ctx)
	if tr == nil {
		return md, nil
	}
	identity, grant := tr.bend(strings.TrimPrefix(md[interceptor.IdentityHeader], "Bearer "), md[interceptor.GrantHeader])
	delete(md, interceptor.IdentityHeader)
	delete(md, interceptor.GrantHeader)
	if identity != "" {
		md[interceptor.IdentityHeader] = "Bearer " + identity
	}
	if grant != "" {
		md[interceptor.GrantHeader] = grant
	}
	// grpc sends the headers right after this returns.
	tr.markSent()
	return md, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: the
// harness's links are loopback or in memory.
func (c *callCredentials) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = (*callCredentials)(nil)
