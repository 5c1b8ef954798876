package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jitbench/jitbench/reports"
)

// resultsDir is where a worker writes its result, in its container.
const resultsDir = "/results"

// WorkerLoad is the `jitbench load` each worker container runs: a closed
// loop against the Vault by its alias, with grants from the broker. The
// Kubernetes Job (deploy/k8s/load-job.yaml) runs DefaultWorkerLoad's flags.
type WorkerLoad struct {
	// Target and Broker are host:port on the private network.
	Target, Broker string
	// Method and Data are the call: full method name and JSON request.
	Method, Data string
	// Calls is the number of measured calls per worker; Concurrency the calls kept in flight.
	Calls       uint64
	Concurrency int
}

// DefaultWorkerLoad is a Read of the demo secret by each of 8 callers, 2000 calls per worker.
func DefaultWorkerLoad() WorkerLoad {
	return WorkerLoad{
		Target: VaultTarget(), Broker: BrokerTarget(),
		Method: "/demo.v1.Vault/Read", Data: `{"path":"secrets/db/password"}`,
		Calls: 2000, Concurrency: 8,
	}
}

// Args are the worker's `jitbench load` flags; index names its result
// (worker-INDEX.json under /results) and its run. Kubernetes passes
// "$(JOB_COMPLETION_INDEX)", expanded in the pod.
func (w WorkerLoad) Args(index string) []string {
	return []string{
		"--target", w.Target, "--method", w.Method, "--data", w.Data, "--broker", w.Broker,
		"--calls", strconv.FormatUint(w.Calls, 10), "--concurrency", strconv.Itoa(w.Concurrency),
		"--quiet", "--name", "worker-" + index, "-o", resultsDir + "/worker-" + index + ".json",
	}
}

// ResultFile is the name of worker index's result in the results directory.
func ResultFile(index int) string { return "worker-" + strconv.Itoa(index) + ".json" }

// ErrWorker is returned when a worker container fails.
var ErrWorker = errors.New("load worker failed")

// workerTimeout bounds one worker's run.
const workerTimeout = 2 * time.Minute

// RunWorkers runs n worker containers at once, each running load against
// the cluster on its private network and writing its result to dir (a
// host directory, bind-mounted at /results), and returns the result files
// once all have exited. Workers run as the calling user, so the files are
// the caller's.
func (c *Cluster) RunWorkers(ctx context.Context, n int, load WorkerLoad, dir string) ([]string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		paths[k] = filepath.Join(dir, ResultFile(k))
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, err := runToExit(ctx, containerSpec{
				name: fmt.Sprintf("jitbench-%s-worker-%d", c.id, k), image: c.opts.Images.Worker,
				cmd: load.Args(strconv.Itoa(k)),
				// Not the private network alone: a container on nothing but an
				// internal network has no upstream DNS, and grpc-go's resolver
				// waits out its TXT (service config) lookup before it dials.
				networks: []string{c.workerEdge, c.private},
				binds:    []string{dir + ":" + resultsDir},
				user:     fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
				labels:   c.labels("worker"), logger: c.opts.Logger,
			}, workerTimeout)
			switch {
			case err != nil:
				errs[k] = fmt.Errorf("%w: worker %d: %v", ErrWorker, k, err)
			case code != 0:
				errs[k] = fmt.Errorf("%w: worker %d exited %d: %s", ErrWorker, k, code, bytes.TrimSpace(out))
			}
		}()
	}
	wg.Wait()
	return paths, errors.Join(errs...)
}

// ReadResults reads load results (jitbench.result/v1 files), in order: what
// reports.Merge and `jitbench report merge` take.
func ReadResults(paths []string) ([]*reports.Result, error) {
	out := make([]*reports.Result, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		r, err := reports.Read(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}
