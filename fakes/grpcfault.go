package fakes

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// KindGRPCFault names the fault that switches a `jitbench proxy` fault on
// between the client and the service.
const KindGRPCFault = "grpc-fault"

// ErrNoProxy is what Env.Proxy wraps where no fault proxy stands between
// the client and the service.
var ErrNoProxy = errors.New("needs the fault proxy between the client and the service")

type grpcFaultParams struct {
	Fault string `param:"fault,required" doc:"a proxy fault in the --fault syntax of jitbench proxy, e.g. abort:code=UNAVAILABLE,methods=/demo.v1.Vault/Read"`
}

// grpcFaultSeq numbers the faults added to proxies, so each window adds
// and removes a fault of its own even when two share a spec.
var grpcFaultSeq atomic.Int64

// maxGRPCFaultBase keeps a numbered name within the proxy's 64 characters.
const maxGRPCFaultBase = 44

func init() {
	register(KindGRPCFault, "adds a fault of jitbench proxy (abort, latency, metadata, ...) to a proxy between the client and the service; topologies inprocess, tcp and external",
		grpcFaultParams{}, newGRPCFault)
	onExternal(KindGRPCFault, "proxy: a jitbench proxy jitbench puts in front of the service (TLS to it as the config says)")
}

func newGRPCFault(params map[string]any) (Fault, error) {
	var p grpcFaultParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	spec, err := proxy.ParseSpec(p.Fault)
	if err == nil {
		spec, err = proxy.Check(spec, proxy.GRPC)
	}
	if err != nil {
		return nil, &ParamError{Key: "fault", Msg: err.Error()}
	}
	text := spec.String()
	return FaultFunc(func(env Env) (func(), error) {
		px, err := env.Proxy()
		if err != nil {
			return nil, err
		}
		mine := spec
		mine.Name = numbered(spec.Name, grpcFaultSeq.Add(1))
		if _, err := px.Faults().Add(mine); err != nil {
			return nil, fmt.Errorf("add %s to the proxy: %w", text, err)
		}
		env.Effect(func() Effect {
			n := int64(px.Metrics().Snapshot().AppliedBy(mine.Name))
			return Effect{What: "the proxy applied " + text + " to " + count(n, "call"), Met: n}
		})
		// Remove fails only for a name the set no longer has: nothing to undo.
		return func() { _ = px.Faults().Remove(mine.Name) }, nil
	}), nil
}

// numbered makes the proxy fault name base unique with n.
func numbered(base string, n int64) string {
	if len(base) > maxGRPCFaultBase {
		base = base[:maxGRPCFaultBase]
	}
	return base + "-" + strconv.FormatInt(n, 10)
}
