package harness

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"
	"google.golang.org/grpc"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/containers"
	"github.com/jitbench/jitbench/harness/load"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/scenarios"
)

// ErrNoEngine is wrapped by the error of a container run where no Docker
// engine answers: Run skips the test, and `jitbench run` reports the
// scenario as skipped.
var ErrNoEngine = containers.ErrNoEngine

// containerRun labels every container, network and volume this process's
// container runs create (containers.LabelRun), so a sweep or a leak check
// finds them all.
var containerRun = containers.NewRunID()

// ContainerRunID is the containers.LabelRun of everything this process's
// container runs create: containers.Leaks(ctx, ContainerRunID()) lists what
// is left of them (nothing, once every Env is closed).
func ContainerRunID() string { return containerRun }

// pingEngine checks that a Docker engine answers; tests replace it.
var pingEngine = containers.Ping

// clusterTimeout bounds the removal of a cluster and the reading of its audit log.
const clusterTimeout = time.Minute

// images are prepared once per process, on first use (a build of the
// binary and of three images); a failed attempt is tried again next time.
var images struct {
	mu    sync.Mutex
	ready bool
	im    containers.Images
}

func clusterImages(ctx context.Context) (containers.Images, error) {
	images.mu.Lock()
	defer images.mu.Unlock()
	if images.ready {
		return images.im, nil
	}
	im, err := containers.PrepareImages(ctx)
	if err != nil {
		return im, err
	}
	images.im, images.ready = im, true
	return im, nil
}

// clusterSystem is the reference system in containers (topology
// container): the broker and the Vault of a containers.Cluster on a
// private network, reached from this process on their published ports.
// The scripted reviewer reaches the broker as the caller does, over gRPC.
type clusterSystem struct {
	cluster  *containers.Cluster
	conn     *grpc.ClientConn // the reviewer's, to the broker
	reviewer jitv1.BrokerClient
	report   func(error) // errors of the undoing container operations
}

var _ system = (*clusterSystem)(nil)

// startCluster starts e's scenario in containers, once a Docker engine
// answers and the images are ready.
func startCluster(ctx context.Context, e *Env) (_ *clusterSystem, err error) {
	containers.DisableRyuk()
	if err := pingEngine(ctx); err != nil {
		return nil, err
	}
	im, err := clusterImages(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := clusterOptions(e.sc)
	if err != nil {
		return nil, err
	}
	opts.Images, opts.RunID = im, containerRun
	c := &clusterSystem{report: e.report}
	if c.cluster, err = containers.Start(ctx, opts); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.close())
		}
	}()
	r := e.reviewer.caller
	id, err := fakes.DevIdentityProvider(nil).Token(r.Subject, r.Groups, stack.BrokerAudience, identityTTL)
	if err != nil {
		return nil, err
	}
	if c.conn, err = load.BrokerConn(c.cluster.BrokerAddr(), id, reconnect); err != nil {
		return nil, err
	}
	c.reviewer = jitv1.NewBrokerClient(c.conn)
	return c, nil
}

// clusterOptions maps sc's settings (defaults filled) to the cluster's:
// approval, policy, revocation mode and staleness for the broker and the
// Vault, and the Vault's verifier settings as serve flags.
func clusterOptions(sc scenarios.Scenario) (containers.Options, error) {
	var o containers.Options
	if sc.Broker.Approval == ApprovalAuto {
		o.AutoApprove = sc.Broker.AutoApprove
	}
	if p := scenarioPolicy(sc); p != nil {
		doc, err := yaml.Marshal(p)
		if err != nil {
			return o, fmt.Errorf("write the broker's policy: %w", err)
		}
		o.Policy = doc
	}
	mode, err := brokerclient.ParseMode(sc.Service.RevocationMode)
	if err != nil {
		return o, err
	}
	// A scenario built in Go may leave the bound zero: the Vault's own default, as in process.
	o.RevocationMode, o.MaxStaleness = mode, cmp.Or(sc.Service.MaxStaleness, brokerclient.DefaultMaxStaleness)
	svc := sc.Service
	o.VaultArgs = []string{"--leeway", svc.Leeway.String(), "--algorithms", strings.Join(svc.Algorithms, ",")}
	if svc.MaxGrantLifetime > 0 {
		o.VaultArgs = append(o.VaultArgs, "--max-lifetime", svc.MaxGrantLifetime.String())
	}
	return o, nil
}

// dialTCP dials addr on the host's loopback, whatever address grpc passes.
func dialTCP(addr string) func(ctx context.Context, _ string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

func (c *clusterSystem) dialBroker(ctx context.Context, addr string) (net.Conn, error) {
	return dialTCP(c.cluster.BrokerAddr())(ctx, addr)
}

func (c *clusterSystem) dialService(ctx context.Context, addr string) (net.Conn, error) {
	return dialTCP(c.cluster.VaultAddr())(ctx, addr)
}

func (c *clusterSystem) listRequests(ctx context.Context, in *jitv1.ListRequestsRequest) (*jitv1.ListRequestsResponse, error) {
	return c.reviewer.ListRequests(ctx, in)
}

func (c *clusterSystem) review(ctx context.Context, in *jitv1.ReviewRequest) error {
	_, err := c.reviewer.Review(ctx, in)
	return err
}

func (c *clusterSystem) revoke(ctx context.Context, in *jitv1.RevokeRequest) error {
	_, err := c.reviewer.Revoke(ctx, in)
	return err
}

func (c *clusterSystem) rotateKey(context.Context) (string, error) {
	return "", containerTopology{}.rotate()
}

// restartBroker stops the broker cleanly (SIGTERM) and starts its
// container again on the same volume and port.
func (c *clusterSystem) restartBroker(ctx context.Context) error {
	if err := c.cluster.StopBroker(ctx); err != nil {
		return err
	}
	return c.cluster.RestartBroker(ctx)
}

// handlerRuns cannot count: the Vault's handler counter lives in its container.
func (c *clusterSystem) handlerRuns() (int64, bool) { return 0, false }

// decisions reads the audit log from the broker's volume, which needs the
// broker stopped: it stays stopped afterwards (Run is over by then). An
// interrupted run does not wait for it.
func (c *clusterSystem) decisions(ctx context.Context, rec *Record) error {
	if ctx.Err() != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clusterTimeout)
	defer cancel()
	recs, err := c.cluster.AuditLog(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		addDecision(rec, r)
	}
	return nil
}

func (c *clusterSystem) containers() (fakes.Containers, error) {
	return undoReporter{c.cluster, c.report}, nil
}

// close closes the reviewer's connection and removes the cluster.
func (c *clusterSystem) close() error {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := c.cluster.Close(ctx); err != nil {
		return fmt.Errorf("remove the containers of cluster %s: %w", c.cluster.ID(), err)
	}
	return nil
}

// undoReporter is the cluster as the container faults see it: the errors
// of the operations their remove funcs make (which cannot return one) go
// to report, and so fail the run.
type undoReporter struct {
	*containers.Cluster
	report func(error)
}

var _ fakes.Containers = undoReporter{}

// PauseBroker implements fakes.Containers: the engine froze the container when it returns.
func (u undoReporter) PauseBroker(ctx context.Context) (string, error) {
	if err := u.Cluster.PauseBroker(ctx); err != nil {
		return "", err
	}
	return "paused the broker's container", nil
}

// KillBroker implements fakes.Containers: the container has stopped when it returns.
func (u undoReporter) KillBroker(ctx context.Context) (string, error) {
	if err := u.Cluster.KillBroker(ctx); err != nil {
		return "", err
	}
	return "killed the broker's container (SIGKILL); it stopped", nil
}

// DisconnectVault implements fakes.Containers, with the networks the engine
// says the Vault is left on.
func (u undoReporter) DisconnectVault(ctx context.Context) (string, error) {
	if err := u.Cluster.DisconnectVault(ctx); err != nil {
		return "", err
	}
	nets, err := u.Cluster.VaultNetworks(ctx)
	if err != nil {
		return "", err
	}
	if slices.Contains(nets, u.Cluster.PrivateNetwork()) {
		return "", fmt.Errorf("the Vault is still on %s after its disconnection", u.Cluster.PrivateNetwork())
	}
	return fmt.Sprintf("cut the service's container from the broker's network (left on %s)", strings.Join(nets, ", ")), nil
}

// UnpauseBroker implements fakes.Containers, reporting its error.
func (u undoReporter) UnpauseBroker(ctx context.Context) error {
	return u.reported(u.Cluster.UnpauseBroker(ctx))
}

// RestartBroker implements fakes.Containers, reporting its error.
func (u undoReporter) RestartBroker(ctx context.Context) error {
	return u.reported(u.Cluster.RestartBroker(ctx))
}

// ReconnectVault implements fakes.Containers, reporting its error.
func (u undoReporter) ReconnectVault(ctx context.Context) error {
	return u.reported(u.Cluster.ReconnectVault(ctx))
}

func (u undoReporter) reported(err error) error {
	u.report(err)
	return err
}
