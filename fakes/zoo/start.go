package zoo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
)

// Options configure a zoo service.
type Options struct {
	// KeysDir is the directory GenerateKeys wrote the member's keys to. Required.
	KeysDir string
	// JWKSURL is where an oauth-scope service fetches its key set (required
	// for oauth-scope), and where a scp-array service reads its grant keys
	// when set, instead of its directory of PEM files. Other members ignore it.
	JWKSURL string
	// Clock is the service's clock; nil means time.Now.
	Clock func() time.Time
	// Listener is served when set; otherwise the service listens on Listen.
	Listener net.Listener
	// Listen is the address to listen on when Listener is nil; empty means 127.0.0.1:0.
	Listen string
	// JWKSMaxAge is how long an oauth-scope service uses a fetched key set
	// (a retired key is refused once it is over); zero means 5 minutes.
	JWKSMaxAge time.Duration
	// JWKSRefresh is how often a scp-array service reading its grant keys
	// from JWKSURL fetches them again in the background; zero means 1
	// minute. An unknown kid asks for a fetch sooner, no sooner than the
	// shorter of this and 200 ms after the last one started.
	JWKSRefresh time.Duration
	// KeyClock is the clock that refresh interval and its rate limit run on;
	// nil means the real clock, not Clock: a fixed token clock does not stop refreshes.
	KeyClock clockwork.Clock
	// HTTPClient fetches key sets (the JWKS URL, and a token's jku in the
	// jku-fetched bug); nil means a client with a 5 s timeout.
	HTTPClient *http.Client
	// RevocationDelay is how long a revocation takes to reach the verifier
	// of a member with CapRevocation: zero means the member's own
	// (Convention.RevocationDelay), ImmediateRevocation (any negative) none.
	RevocationDelay time.Duration
	// RevocationClock is the clock that delay runs on; nil means time.Now,
	// not Clock: a skewed or fixed token clock does not hold up replication.
	RevocationClock func() time.Time
}

// withDefaults fills o's zero fields.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultHTTPClient()
	}
	if o.JWKSMaxAge <= 0 {
		o.JWKSMaxAge = jwksMaxAge
	}
	if o.JWKSRefresh <= 0 {
		o.JWKSRefresh = filesJWKSRefresh
	}
	if o.KeyClock == nil {
		o.KeyClock = clockwork.NewRealClock()
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.RevocationClock == nil {
		o.RevocationClock = time.Now
	}
	return o
}

// builders make each member's api and guard.
var builders = map[Kind]func(Bug, Options) (*api, guard, error){
	MethodsList: newOrders,
	OAuthScope:  newShop,
	ScpArray:    newFiles,
	BearerGrant: newPayouts,
}

// Target is a running zoo service.
type Target struct {
	// Kind and Bug say which build runs.
	Kind Kind
	Bug  Bug
	// Addr is the host:port it serves on.
	Addr string
	// AdminURL is the base URL of its admin HTTP API on a loopback port of
	// its own (http://127.0.0.1:port), empty for a member without one;
	// Convention.RevokeURL makes the revoke URL of it.
	AdminURL string

	keysURL string // the JWKS URL its grant keys come from; empty when from files
	calls   *atomic.Int64
	server  *grpc.Server
	guard   guard
	admin   *adminServer
	served  chan struct{}
	stop    sync.Once
}

// closer is a guard with something of its own to stop (a key refresher).
type closer interface {
	close()
}

// readsJWKS reports whether kind's service, started with opts, reads its
// grant keys from opts.JWKSURL.
func readsJWKS(kind Kind, opts Options) bool {
	return opts.JWKSURL != "" && (kind == OAuthScope || kind == ScpArray)
}

// Start serves kind's build with bug (None: the correct build) until Stop,
// and a member's admin API (revocation) beside it at AdminURL.
func Start(kind Kind, bug Bug, opts Options) (*Target, error) {
	build, ok := builders[kind]
	if !ok {
		_, err := ParseKind(string(kind))
		return nil, err
	}
	if _, err := ParseBug(kind, string(bug)); err != nil {
		return nil, err
	}
	if opts.KeysDir == "" {
		return nil, errors.New("zoo: the keys directory is required")
	}
	opts = opts.withDefaults()
	a, g, err := build(bug, opts)
	if err != nil {
		return nil, err
	}
	t := &Target{Kind: kind, Bug: bug, guard: g, calls: new(atomic.Int64), served: make(chan struct{})}
	if readsJWKS(kind, opts) {
		t.keysURL = opts.JWKSURL
	}
	if t.server, err = newServer(a, g, bug, t.calls); err != nil {
		t.closeGuard()
		return nil, err
	}
	if h, ok := g.(adminAPI); ok {
		if t.admin, err = serveAdmin(h.adminHandler()); err != nil {
			t.closeGuard()
			return nil, err
		}
		t.AdminURL = t.admin.url
	}
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", opts.Listen); err != nil {
			t.admin.close()
			t.closeGuard()
			return nil, fmt.Errorf("zoo: listen: %w", err)
		}
	}
	t.Addr = lis.Addr().String()
	go func() {
		defer close(t.served)
		_ = t.server.Serve(lis) // returns when Stop stops the server
	}()
	return t, nil
}

// HandlerCalls counts the protected handler runs so far.
func (t *Target) HandlerCalls() int64 { return t.calls.Load() }

// Info is what a target config needs to know of t: its address, its admin
// URL and, when it reads its grant keys from a JWKS URL, that URL.
func (t *Target) Info() TargetInfo {
	return TargetInfo{Addr: t.Addr, AdminURL: t.AdminURL, SuiteKeys: t.keysURL != "", JWKSURL: t.keysURL}
}

// Stop stops the service, its admin API and its key refresher, ending open calls, and waits for them.
func (t *Target) Stop() {
	t.stop.Do(func() {
		t.server.Stop()
		<-t.served
		t.admin.close()
		t.closeGuard()
	})
}

// closeGuard stops what the guard runs of its own.
func (t *Target) closeGuard() {
	if c, ok := t.guard.(closer); ok {
		c.close()
	}
}
