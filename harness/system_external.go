package harness

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/proxy"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// externalSystem is the user's service and the reference broker jitbench
// runs for it. The broker approves (or not) and issues a reference grant;
// the caller turns it into the service's own grant with the same window
// and id (translate), so the service sees only its own layout.
type externalSystem struct {
	*localSystem // the broker half: the service half is the user's
	session      *conformance.Session

	mu sync.Mutex
	// signKey signs the grants after a rotation: a fresh key of the served key source; nil means the issuer's.
	signKey *token.Key
	// issued are the ids of the grants handed to the caller, for a revocation.
	issued []string
	// last caches the last translation: the reference grant, the service's,
	// its exp, and when to sign a new one for the same approval.
	lastRef, lastOut string
	lastExp, renewAt time.Time
	// issuerClock is the broker's clock: the issuer's now, skewed with it.
	issuerClock clockwork.Clock
}

var _ system = (*externalSystem)(nil)

// openExternal connects to the service cfg describes, before preflight:
// what the service can do (a stream method, a key source, a revoke hook)
// decides which faults can act on it.
func openExternal(ctx context.Context, cfg *conformance.Config) (*externalSystem, error) {
	if cfg == nil {
		return nil, ErrNeedsTarget
	}
	s, err := conformance.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("the target: %w", err)
	}
	return &externalSystem{session: s, localSystem: &localSystem{topo: TopologyInProcess}}, nil
}

// start starts the reference broker for e's scenario, in memory, and the
// fault proxy in front of the service when a fault needs it.
func (x *externalSystem) start(e *Env) (err error) {
	l := x.localSystem
	l.alg, l.seed, l.reviewer = e.sc.Broker.Algorithm, e.sc.Seed, e.reviewer.caller
	x.issuerClock = e.clocks[fakes.TargetBroker]
	if l.brokerEP, err = newEndpoint(TopologyInProcess); err != nil {
		return err
	}
	cfg := stack.SystemConfig{
		Service: stack.Config{Leeway: e.sc.Service.Leeway, MaxGrantLifetime: e.sc.Service.MaxGrantLifetime},
		Clock:   e.clocks[fakes.TargetBroker],
		Policy:  scenarioPolicy(e.sc),
	}
	if e.sc.Broker.Approval == ApprovalAuto {
		cfg.AutoApprove = e.sc.Broker.AutoApprove
	}
	if cfg.GrantKeys, err = brokerKeys(e.sc.Broker.Algorithm); err != nil {
		return err
	}
	if l.sys, err = stack.StartBroker(cfg, l.brokerEP.listener()); err != nil {
		return err
	}
	if usesProxy(e.sc) {
		if err := x.startProxy(); err != nil {
			return fmt.Errorf("start the fault proxy: %w", err)
		}
	}
	return nil
}

// startProxy puts a fault proxy, with no faults yet, between the caller
// and the service: the caller dials it in memory, it dials the service
// with the target's TLS.
func (x *externalSystem) startProxy() error {
	var upstreamTLS *tls.Config
	if tc := x.session.TLS(); tc != nil {
		upstreamTLS = tc.Clone() // the proxy's own: the session keeps using its
	}
	px, err := proxy.New(proxy.Config{
		Upstream:    x.session.Address(),
		UpstreamTLS: upstreamTLS,
		Options:     proxy.Options{Seed: uint64(x.seed)},
	})
	if err != nil {
		return err
	}
	ep, err := newEndpoint(TopologyInProcess)
	if err != nil {
		px.Stop()
		return err
	}
	x.proxy, x.proxyEP = px, ep
	go func() { _ = px.Serve(ep.listener()) }()
	return nil
}

// dialService reaches the fault proxy where there is one, else the service over the network.
func (x *externalSystem) dialService(ctx context.Context, _ string) (net.Conn, error) {
	if x.proxyEP != nil {
		return x.proxyEP.dialer()(ctx, "")
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", x.session.Address())
}

// transport is how the caller secures its connection: plaintext to the
// proxy in memory (which speaks TLS to the service), else the target's TLS.
func (x *externalSystem) transport() grpc.DialOption {
	if tc := x.session.TLS(); tc != nil && x.proxyEP == nil {
		return grpc.WithTransportCredentials(credentials.NewTLS(tc.Clone()))
	}
	return grpc.WithTransportCredentials(insecure.NewCredentials())
}

// rotateKey makes a fresh key of the served key source sign the grants
// from now on; the key source serves it at once, the service fetches it
// when it will.
func (x *externalSystem) rotateKey(ctx context.Context) (string, error) {
	ks := x.session.KeySource()
	if ks == nil {
		return "", errNoKeySource
	}
	k, err := ks.Fresh(ctx)
	if err != nil {
		return "", err
	}
	x.mu.Lock()
	x.signKey, x.lastRef = k, "" // the next grant is signed with the fresh key
	x.mu.Unlock()
	return k.ID, nil
}

// errNoKeySource refuses a key rotation on a target whose keys jitbench does not serve.
var errNoKeySource = errors.New("rotating the grant signing key needs the target to read its keys from jitbench (key_source in the target config)")

// errNoRevoker refuses a revocation on a target without a revoke hook.
var errNoRevoker = errors.New("revoking a grant on the target needs a revoke hook in the target config (revoke: command or url)")

// revokeIssued tells the service, through the config's revoke hook, that
// every grant handed out so far is revoked; it returns how many.
func (x *externalSystem) revokeIssued(ctx context.Context) (int, error) {
	x.mu.Lock()
	ids := append([]string(nil), x.issued...)
	x.mu.Unlock()
	for i, id := range ids {
		if err := x.session.Revoke(ctx, id); err != nil {
			if errors.Is(err, conformance.ErrCannotRevoke) {
				err = errNoRevoker
			}
			return i, fmt.Errorf("revoke grant %s: %w", id, err)
		}
	}
	return len(ids), nil
}

// handlerRuns counts the service's handler runs where the config can
// (Config.HandlerCalls, from Go); else they happen out of sight.
func (x *externalSystem) handlerRuns() (int64, bool) {
	if count := x.session.Config().HandlerCalls; count != nil {
		return count(), true
	}
	return 0, false
}

func (x *externalSystem) close() error {
	err := x.localSystem.close()
	x.session.Close()
	return err
}

// forger is a forger of credential in the service's layout, placing time
// cases against the real clock: the service's own is out of reach.
func (x *externalSystem) forger(credential string) (*fakes.Forger, error) {
	f := x.session.Forger(credential, nil)
	if f == nil {
		return nil, fmt.Errorf("the target has no %s credential to forge (profile %s)", credential, x.session.Config().Profile)
	}
	return f, nil
}

// identitySource signs the service's identity tokens at the client's clock;
// nil in the single-token profile, where the grant is the one credential.
func (x *externalSystem) identitySource(clock clockwork.Clock) interceptor.IdentitySource {
	f := x.session.Forger(fakes.CredentialIdentity, clock)
	if f == nil {
		return nil
	}
	return interceptor.IdentitySourceFunc(func(context.Context) (interceptor.Credential, error) {
		raw, err := f.Valid()
		if err != nil {
			return interceptor.Credential{}, err
		}
		c := interceptor.Static(raw)
		c.Expires = expiry(raw)
		return c, nil
	})
}

// translated wraps the reference grant source next: each grant it gets
// becomes the service's grant, with the same iat, nbf, exp and jti, signed
// by the key that signs now and naming every method the caller calls (the
// config's method, and its stream method). A grant never lives longer than
// the service's max_grant_lifetime: when the service's grant nears its end
// while the broker's still holds, a new one is signed from the issuer's now,
// as the service's own issuer would renew it.
func (x *externalSystem) translated(next interceptor.GrantSource) interceptor.GrantSource {
	cfg := x.session.Config()
	methods := []string{cfg.Method.Method}
	if cfg.Stream != nil {
		methods = append(methods, cfg.Stream.Method)
	}
	grants := x.session.ScopedForger(nil, methods...)
	most := int64(cfg.MaxGrantLifetime.Seconds())
	return interceptor.GrantSourceFunc(func(ctx context.Context, method string) (interceptor.Credential, error) {
		ref, err := next.Grant(ctx, method)
		if err != nil {
			return ref, err
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		now := x.issuerClock.Now()
		same := ref.Token == x.lastRef && x.lastRef != ""
		if same && now.Before(x.renewAt) {
			return interceptor.Credential{Token: x.lastOut, Expires: x.lastExp, Once: ref.Once}, nil
		}
		w, err := grantWindow(ref.Token)
		if err != nil {
			return interceptor.Credential{}, fmt.Errorf("read the broker's grant: %w", err)
		}
		switch {
		case same:
			// The same approval, the service's grant spent: a new one from now.
			w.ID, w.Iat, w.Nbf = token.NewID(), now.Unix(), now.Unix()
		case slices.Contains(x.issued, w.ID):
			// Signed again after a rotation: a new id, so no grant is ever sent twice under one.
			w.ID = token.NewID()
		}
		if most > 0 && w.Exp-w.Iat > most {
			w.Exp = w.Iat + most
		}
		out, err := grants.ValidWith(fakes.ValidOptions{Key: x.signKey, ID: w.ID,
			Expires: time.Unix(w.Exp, 0), IssuedAt: time.Unix(w.Iat, 0), NotBefore: time.Unix(w.Nbf, 0)})
		if err != nil {
			return interceptor.Credential{}, fmt.Errorf("sign the service's grant: %w", err)
		}
		exp := time.Unix(w.Exp, 0)
		// Renewed in its last quarter, as a client renews ahead of exp.
		x.lastRef, x.lastOut, x.lastExp = ref.Token, out, exp
		x.renewAt = exp.Add(-time.Duration(w.Exp-w.Iat) * time.Second / 4)
		if !slices.Contains(x.issued, w.ID) {
			x.issued = append(x.issued, w.ID)
		}
		return interceptor.Credential{Token: out, Expires: exp, Once: ref.Once}, nil
	})
}

// claimWindow is the part of a grant translate keeps.
type claimWindow struct {
	ID  string `json:"jti"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
}

// grantWindow reads the window and id of a grant the reference broker (this
// process) signed; it is trusted, so it is decoded, not verified.
func grantWindow(raw string) (claimWindow, error) {
	var w claimWindow
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return w, errors.New("not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return w, err
	}
	if w.Nbf == 0 {
		w.Nbf = w.Iat
	}
	return w, nil
}

// expiry is the exp of a token this process signed; zero when it has none.
func expiry(raw string) time.Time {
	w, err := grantWindow(raw)
	if err != nil || w.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(w.Exp, 0)
}
