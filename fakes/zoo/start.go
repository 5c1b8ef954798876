package zoo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

// Options configure a zoo service.
type Options struct {
	// KeysDir is the directory GenerateKeys wrote the member's keys to. Required.
	KeysDir string
	// JWKSURL is where an oauth-scope service fetches its key set. Required for oauth-scope.
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
	// HTTPClient fetches key sets (the JWKS URL, and a token's jku in the
	// jku-fetched bug); nil means a client with a 5 s timeout.
	HTTPClient *http.Client
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
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
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

	calls  *atomic.Int64
	server *grpc.Server
	served chan struct{}
	stop   sync.Once
}

// Start serves kind's build with bug (None: the correct build) until Stop.
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
	t := &Target{Kind: kind, Bug: bug, calls: new(atomic.Int64), served: make(chan struct{})}
	if t.server, err = newServer(a, g, bug, t.calls); err != nil {
		return nil, err
	}
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", opts.Listen); err != nil {
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

// Stop stops the service, ending open calls, and waits for it.
func (t *Target) Stop() {
	t.stop.Do(func() {
		t.server.Stop()
		<-t.served
	})
}
