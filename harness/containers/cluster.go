package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"

	"github.com/jitbench/jitbench/reference/brokerclient"
)

// Where the broker and the Vault listen, and the names they have for each
// other (and for workers) on the cluster's internal network.
const (
	BrokerAlias = "broker"
	VaultAlias  = "vault"
	BrokerPort  = 7444
	VaultPort   = 7443
	// brokerDataDir holds the broker's store, on the cluster's volume.
	brokerDataDir = "/data"
	// policyPath is where a cluster's policy file is copied in the broker.
	policyPath = "/policy.yaml"
)

// DefaultMaxStaleness is a cluster Vault's staleness bound when Options leaves it zero.
const DefaultMaxStaleness = 5 * time.Second

// Options configure a Cluster. Zero fields take the defaults given.
type Options struct {
	// Images are the images to run; zero means DefaultImages (EnsureImages builds them).
	Images Images
	// RunID is put on everything the cluster creates (LabelRun); empty means NewRunID.
	RunID string
	// AutoApprove, when positive, has the broker approve every request after it; zero leaves requests to reviewers.
	AutoApprove time.Duration
	// Policy is the broker's policy file (YAML); nil means the built-in policy.
	Policy []byte
	// RevocationMode is what the Vault does with a stale revocation view: strict (the zero value) or best_effort.
	RevocationMode brokerclient.Mode
	// MaxStaleness bounds the age of the Vault's revocation view; zero means DefaultMaxStaleness.
	MaxStaleness time.Duration
	// Heartbeat spaces the broker's revocation-feed heartbeats; zero means a quarter of MaxStaleness.
	Heartbeat time.Duration
	// StartTimeout bounds each container's start, health check included; zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// BrokerArgs and VaultArgs are appended to each one's serve flags (e.g. --leeway 5s).
	BrokerArgs, VaultArgs []string
	// Logger receives testcontainers' progress lines; nil discards them.
	Logger log.Logger
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Images == (Images{}) {
		o.Images = DefaultImages()
	}
	if o.RunID == "" {
		o.RunID = NewRunID()
	}
	if o.MaxStaleness <= 0 {
		o.MaxStaleness = DefaultMaxStaleness
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = o.MaxStaleness / 4
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	return o
}

// Cluster is the reference system in containers: the broker (its store on
// a volume) and the Vault, on a private internal network, each published
// on a fixed loopback port of the host. Its methods are safe for
// concurrent use, but faults are meant to be injected one at a time.
type Cluster struct {
	id   string
	opts Options
	cli  *testcontainers.DockerClient

	// Network names: private is internal, shared by broker, Vault and
	// workers; the broker's and the Vault's edge networks carry their
	// published ports; workers have one too (see workerEdge).
	private, brokerEdge, vaultEdge, workerEdge string
	volume                                     string
	brokerPort, vaultPort                      int

	mu            sync.Mutex
	broker, vault *testcontainers.DockerContainer
	closed        bool
}

// Start creates the cluster's networks and volume and starts the broker,
// then the Vault, each once its gRPC health check answers from the host.
// On error everything created so far is removed. The caller must Close the
// cluster, also when its test fails (StartTB does that).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := checkRyuk(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	c := &Cluster{id: randomID(4), opts: opts, cli: cli}
	prefix := "jitbench-" + c.id
	c.private, c.brokerEdge, c.vaultEdge = prefix+"-private", prefix+"-broker-edge", prefix+"-vault-edge"
	c.workerEdge = prefix + "-worker-edge"
	c.volume = prefix + "-broker-data"
	if err := c.start(ctx); err != nil {
		// ctx may be what ended the start: the cleanup gets time of its own.
		cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return nil, errors.Join(err, c.Close(cleanCtx))
	}
	return c, nil
}

// TB is the part of testing.TB StartTB needs.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// StartTB starts a cluster for a test: it registers the cluster's Close
// with tb.Cleanup, so a test that fails or stops early still leaves
// nothing behind, and fails tb when the cluster does not start (a failed
// Start has removed what it created).
func StartTB(tb TB, opts Options) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		tb.Fatalf("start the container cluster: %v", err)
		return nil
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			tb.Errorf("close the container cluster %s: %v", c.ID(), err)
		}
	})
	return c
}

func (c *Cluster) start(ctx context.Context) error {
	for _, n := range []struct {
		name, role string
		internal   bool
	}{{c.private, "private", true}, {c.brokerEdge, "broker-edge", false}, {c.vaultEdge, "vault-edge", false}, {c.workerEdge, "worker-edge", false}} {
		// The private network is internal: it never provides the
		// containers' gateway, so published ports stay on the edge
		// networks and a container cut from it stays reachable.
		if _, err := c.cli.NetworkCreate(ctx, n.name, client.NetworkCreateOptions{
			Driver: "bridge", Internal: n.internal, Labels: c.labels(n.role)}); err != nil {
			return fmt.Errorf("create network %s: %w", n.name, err)
		}
	}
	if _, err := c.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: c.volume, Labels: c.labels("broker-data")}); err != nil {
		return fmt.Errorf("create volume %s: %w", c.volume, err)
	}
	var err error
	if c.brokerPort, err = freePort(); err != nil {
		return err
	}
	if c.vaultPort, err = freePort(); err != nil {
		return err
	}
	if c.broker, err = runContainer(ctx, c.brokerSpec()); err != nil {
		return err
	}
	c.vault, err = runContainer(ctx, c.vaultSpec())
	return err
}

// brokerSpec is the broker container: serve --role broker on the volume.
func (c *Cluster) brokerSpec() containerSpec {
	o := c.opts
	cmd := []string{"--broker-addr", "0.0.0.0:" + strconv.Itoa(BrokerPort), "--data-dir", brokerDataDir,
		"--heartbeat-interval", o.Heartbeat.String()}
	if o.AutoApprove > 0 {
		cmd = append(cmd, "--auto-approve", o.AutoApprove.String())
	}
	var files []testcontainers.ContainerFile
	if o.Policy != nil {
		cmd = append(cmd, "--policy", policyPath)
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(o.Policy), ContainerFilePath: policyPath, FileMode: 0o644})
	}
	return containerSpec{
		name: "jitbench-" + c.id + "-broker", image: o.Images.Broker, cmd: append(cmd, o.BrokerArgs...),
		port: portSpec(BrokerPort), hostPort: c.brokerPort,
		networks: []string{c.brokerEdge, c.private}, aliases: map[string][]string{c.private: {BrokerAlias}},
		mounts: testcontainers.Mounts(testcontainers.VolumeMount(c.volume, brokerDataDir)),
		files:  files, labels: c.labels("broker"), logger: o.Logger,
		wait: healthStrategy{port: portSpec(BrokerPort), timeout: o.StartTimeout},
	}
}

// vaultSpec is the Vault container: serve --role vault, trusting the broker by its alias.
func (c *Cluster) vaultSpec() containerSpec {
	o := c.opts
	cmd := []string{"--addr", "0.0.0.0:" + strconv.Itoa(VaultPort), "--broker-target", BrokerTarget(),
		"--revocation-mode", o.RevocationMode.String(), "--max-staleness", o.MaxStaleness.String()}
	return containerSpec{
		name: "jitbench-" + c.id + "-vault", image: o.Images.Vault, cmd: append(cmd, o.VaultArgs...),
		port: portSpec(VaultPort), hostPort: c.vaultPort,
		networks: []string{c.vaultEdge, c.private}, aliases: map[string][]string{c.private: {VaultAlias}},
		labels: c.labels("vault"), logger: o.Logger,
		wait: healthStrategy{port: portSpec(VaultPort), timeout: o.StartTimeout},
	}
}

// BrokerTarget is the broker's address on the private network, for the Vault and workers.
func BrokerTarget() string { return BrokerAlias + ":" + strconv.Itoa(BrokerPort) }

// VaultTarget is the Vault's address on the private network, for workers.
func VaultTarget() string { return VaultAlias + ":" + strconv.Itoa(VaultPort) }

// portSpec names a container TCP port the way Docker does: "7444/tcp".
func portSpec(port int) string { return strconv.Itoa(port) + "/tcp" }

func (c *Cluster) labels(role string) map[string]string { return labels(c.opts.RunID, c.id, role) }

// ID identifies the cluster (LabelCluster); its objects are named jitbench-ID-*.
func (c *Cluster) ID() string { return c.id }

// RunID is the run the cluster belongs to (LabelRun).
func (c *Cluster) RunID() string { return c.opts.RunID }

// Options returns the cluster's options, defaults filled in.
func (c *Cluster) Options() Options { return c.opts }

// BrokerAddr is where the host reaches the broker (jit.v1.Broker); it stays the same across restarts.
func (c *Cluster) BrokerAddr() string { return hostAddr(c.brokerPort) }

// VaultAddr is where the host reaches the Vault (demo.v1.Vault).
func (c *Cluster) VaultAddr() string { return hostAddr(c.vaultPort) }

// PrivateNetwork is the name of the internal network the broker and the Vault share.
func (c *Cluster) PrivateNetwork() string { return c.private }

// Close removes everything the cluster created: its containers (killed,
// whatever their state), networks and volume, found by their labels, so
// also what a failed start left. It may be called more than once.
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	err := removeLabelled(ctx, c.cli, LabelCluster, c.id)
	if err == nil {
		c.closed = true
		_ = c.cli.Close()
	}
	return err
}
