package load

import (
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/interceptor"
)

// Shared gives every worker the same grant source: a minting source
// (interceptor.Minting, stack.DevMinting), which holds no cache, so each of
// its grants is new whoever asks.
func Shared(src interceptor.GrantSource) func(worker int) interceptor.GrantSource {
	return func(int) interceptor.GrantSource { return src }
}

// PerWorkerBroker gives each worker its own broker client grant source on
// client: a worker's grant is its own access request, approved by the
// broker's policy, and cached for that worker alone.
func PerWorkerBroker(client jitv1.BrokerClient, opts brokerclient.Options) func(worker int) interceptor.GrantSource {
	return func(int) interceptor.GrantSource { return brokerclient.New(client, opts) }
}
