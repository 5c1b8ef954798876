package harness

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/reason"
)

// TestGRPCFaultRunsThroughTheProxy: a scenario with a grpc-fault fault
// gets a fault proxy between the caller and the Vault, on both local
// topologies; every call goes through it, the fault's window adds its
// fault there and the end of the run takes it off again.
func TestGRPCFaultRunsThroughTheProxy(t *testing.T) {
	for _, topo := range localTopologies {
		t.Run(topo, func(t *testing.T) {
			sc, _ := scenarioFile(t, `name: through-the-proxy
summary: The proxy denies the last two calls.
faults:
  - kind: grpc-fault
    fault: abort:code=PERMISSION_DENIED,methods=/demo.v1.Vault/*
    after_calls: 2
load: {calls: 4}
expect: {codes: {OK: 50%, PERMISSION_DENIED: 50%}}
`)
			e := startEnv(t, sc, topo)
			px, err := e.Proxy()
			require.NoError(t, err)
			r := runEnv(t, e)
			assert.True(t, r.Pass(), "%+v", r.Failed())
			assert.Equal(t, map[string]int{"OK": 2, "PERMISSION_DENIED": 2}, r.Codes)
			snap := px.Metrics().Snapshot()
			assert.Equal(t, uint64(4), snap.TotalCalls(), "every call went through the proxy")
			assert.Equal(t, uint64(2), snap.CodeCount(reason.CodeName(codes.PermissionDenied)))
			assert.Empty(t, px.Faults().List(), "the end of the run removed the fault")
		})
	}
}

// TestNoProxyWithoutAGRPCFault: a scenario without a grpc-fault fault
// runs as it always did, with nothing between the caller and the Vault.
func TestNoProxyWithoutAGRPCFault(t *testing.T) {
	sc, _ := scenarioFile(t, "name: plain\nsummary: No proxy.\nload: {calls: 1}\nexpect: {codes: {OK: 100%}}\n")
	e := startEnv(t, sc, TopologyInProcess)
	_, err := e.Proxy()
	require.ErrorIs(t, err, fakes.ErrNoProxy)
	assert.Nil(t, e.sys.(*localSystem).proxy)
}

// TestStartRefusesAGRPCFaultInContainers: on topology container the caller
// dials the Vault's container directly, so a grpc-fault fault is refused
// before anything starts (without Docker too), at its file:line:col.
func TestStartRefusesAGRPCFaultInContainers(t *testing.T) {
	sc, path := scenarioFile(t, `name: refused
summary: Refused before it starts.
expect: {codes: {OK: 100%}}
faults:
  - kind: grpc-fault
    fault: abort:code=UNAVAILABLE
`)
	_, err := Start(t.Context(), sc, TopologyContainer)
	require.ErrorIs(t, err, fakes.ErrNoProxy)
	require.ErrorIs(t, err, ErrNeedsLocal, "jitbench run --topology container skips it")
	assert.Contains(t, err.Error(), path+":5:5: fault grpc-fault: needs the fault proxy between the client and the service, which needs topology inprocess or tcp")
}

// TestLoadRefusesABadGRPCFaultSpec: a spec the proxy would refuse is
// refused when the file loads, at the fault param's line and column.
func TestLoadRefusesABadGRPCFaultSpec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`name: bad-spec
summary: A typo in the proxy fault.
expect: {codes: {OK: 100%}}
faults:
  - kind: grpc-fault
    fault: abort:code=UNAVAILABLE,methds=/demo.v1.Vault/Read
`), 0o600))
	_, err := LoadFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+`:6:5: fault grpc-fault: param "fault": params.methds: unknown param of abort`)
}
