package conformance_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/conformance"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// reference is the reference system (broker and Vault) on loopback, set up
// so the suite has every capability: a handler probe, a broker, and control
// of the key source the Vault verifies grants with.
type reference struct {
	sys *stack.System
	// keys is the broker's key set, which Fresh adds to.
	keys *token.KeySet
	// link carries the Vault's key fetches from the broker: Outage acts on it.
	link  *fakes.Link
	fresh atomic.Int64
	// vaultKeys is what the Vault verifies grants with; Fresh empties its cache.
	vaultKeys *coldKeys
}

// coldKeys is the Vault's key source, which a test can make cold: a
// brokerclient.KeySource that has fetched nothing yet, as after a restart.
type coldKeys struct {
	mu    sync.Mutex
	cur   *brokerclient.KeySource
	fresh func() *brokerclient.KeySource
}

// Lookup implements token.KeyResolver with the current source.
func (c *coldKeys) Lookup(kid string, now time.Time) (*token.Key, error) {
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	return cur.Lookup(kid, now)
}

// chill replaces the source with one whose cache is empty.
func (c *coldKeys) chill() {
	c.mu.Lock()
	c.cur = c.fresh()
	c.mu.Unlock()
}

// referenceOptions vary the reference a test starts.
type referenceOptions struct {
	profile     conformance.Profile
	autoApprove bool // else the broker waits for a reviewer, and the config names one
	service     func(*stack.Config)
}

// startReference starts the reference for opts and returns a config that
// gives the suite every capability.
func startReference(t *testing.T, opts referenceOptions) (*conformance.Config, *reference) {
	t.Helper()
	brokerLis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	vaultLis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	ref := &reference{keys: token.DevKeySet(token.DevGrantIssuer), link: fakes.NewLink("vault-keys", 1)}
	// The Vault fetches keys over a connection of its own that runs through
	// the link, and may refetch at once: every unknown kid is a real fetch.
	keyConn, err := grpc.NewClient("passthrough:///"+brokerLis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Back quickly after an outage: the suite's cases follow one another closely.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 5 * time.Millisecond,
			Multiplier: 1.6, MaxDelay: 50 * time.Millisecond}, MinConnectTimeout: time.Second}),
		grpc.WithContextDialer(ref.link.Dialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		})))
	require.NoError(t, err)
	t.Cleanup(func() { _ = keyConn.Close() })
	ref.vaultKeys = &coldKeys{fresh: func() *brokerclient.KeySource {
		return brokerclient.NewKeySource(jitv1.NewBrokerClient(keyConn), brokerclient.KeySourceOptions{MinRefresh: time.Nanosecond})
	}}
	ref.vaultKeys.chill()

	svc := stack.Config{SingleToken: opts.profile == conformance.SingleToken}
	if opts.service != nil {
		opts.service(&svc)
	}
	sysCfg := stack.SystemConfig{Service: svc, GrantKeys: ref.keys, ServiceGrantKeys: ref.vaultKeys}
	if opts.autoApprove {
		sysCfg.AutoApprove = time.Millisecond
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ref.sys, err = stack.StartSystem(ctx, sysCfg, brokerLis, vaultLis)
	require.NoError(t, err)
	t.Cleanup(ref.sys.Stop)
	require.NoError(t, ref.vaultKeys.cur.Refresh(ctx), "the Vault starts with the broker's keys, as a deployed one would")

	identity, grant := conformance.DevIssuers()
	cfg := &conformance.Config{
		Address:  vaultLis.Addr().String(),
		Profile:  opts.profile,
		Method:   conformance.Call{Method: "/demo.v1.Vault/Read", JSON: `{"path":"secrets/db/password"}`},
		Stream:   &conformance.Call{Method: "/demo.v1.Vault/List", JSON: `{"prefix":"secrets/"}`},
		Control:  &conformance.Call{Method: "/grpc.health.v1.Health/Check", JSON: `{}`},
		Identity: identity, Grant: grant,
		Audience:   token.DevAudience,
		Subject:    "alice",
		Resource:   "secrets/*",
		OutOfScope: &conformance.Call{Method: "/demo.v1.Vault/Read", JSON: `{"path":"public/motd"}`},
		OneShot:    true,
		Broker:     &conformance.Broker{Address: brokerLis.Addr().String()},
		// The reference's promises: the capabilities of the catalog's needs column.
		MaxGrantLifetime: stack.DefaultMaxGrantLifetime,
		MaxTokenBytes:    token.DefaultMaxTokenBytes,
		KidRequired:      true,
		TypChecked:       true,
		StrictSignatures: true,
		HandlerCalls: func() int64 {
			return ref.sys.Service.Vault.TotalHandlerCalls()
		},
		KeySource: ref,
	}
	if !opts.autoApprove {
		cfg.Broker.Approver, cfg.Broker.ApproverGroups = "carol", []string{"security"}
	}
	return cfg, ref
}

// Fresh adds a new key to the broker's set and empties the Vault's key
// cache: the cold cache of a Vault that has just started.
func (r *reference) Fresh(context.Context) (*token.Key, error) {
	r.vaultKeys.chill()
	key, err := token.GenerateKey(token.EdDSA, fmt.Sprintf("conformance-fresh-%d", r.fresh.Add(1)))
	if err != nil {
		return nil, err
	}
	r.keys.Add(key)
	return key, nil
}

// Retire retires the key kid at the broker, which takes it out of the
// keys it publishes, and empties the Vault's key cache, as a refetch would.
func (r *reference) Retire(_ context.Context, kid string) error {
	if err := r.sys.Broker.RetireKey(kid); err != nil {
		return err
	}
	r.vaultKeys.chill()
	return nil
}

// Outage resets the Vault's key connection (and refuses new ones), or delays it.
func (r *reference) Outage(delay time.Duration) func() {
	if delay == 0 {
		return r.link.Set(fakes.LinkSettings{Reset: true})
	}
	return r.link.Set(fakes.LinkSettings{Latency: delay})
}
