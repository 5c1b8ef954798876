package harness

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/pyledger"
	"github.com/jitbench/jitbench/scenarios"
)

// pythonLibrary is the external library the Python ledger must pass: every
// scenario its conventions give jitbench a way to act on (it has no key
// source jitbench serves, and the approval scenarios need no service).
var pythonLibrary = []string{
	"external-baseline",
	"external-grant-expired",
	"external-clock-drift",
	"external-credentials-missing",
	"external-grant-malformed",
	"external-grant-tampered",
	"external-alg-none",
	"external-algorithm-confusion",
	"external-deadline-too-short-for-approval",
	"external-retries-do-not-extend-deadline",
	"external-proxy-abort-unavailable",
	"external-network-latency",
	"external-tokens-not-propagated",
	"external-measure-leeway",
	"external-measure-max-lifetime",
	"external-measure-revocation",
}

// pythonLeeway is the leeway the ledger is started with: not the default
// of any config, so a measurement that found a default would show.
const pythonLeeway = 17 * time.Second

// startPythonLedger starts fakes/pyledger's service for t, stopped when t
// ends. Without a Python that imports grpc and jwt it skips, saying why,
// unless CI is set: CI installs them, so there it fails.
func startPythonLedger(t *testing.T, o pyledger.Options) *pyledger.Process {
	t.Helper()
	if _, err := pyledger.Interpreter(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("the Python ledger needs python3 with grpc and jwt (apt-get install python3-grpcio python3-jwt python3-cryptography); CI is unset, so skipping: %v", err)
		}
		t.Fatalf("CI is set and installs python3-grpcio and python3-jwt, yet: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	p, err := pyledger.Start(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Stop()) })
	return p
}

// TestExternalLibraryOnPython runs the external library against a service
// in Python (grpcio and PyJWT, no generated stubs) written in conventions
// of its own: one bare token in x-ledger-token, a perms claim, ES256 from a
// PEM file, PyJWT's messages. Each scenario's expectations hold, every
// failed call is diagnosed, and the measured leeway is the one the service
// was started with.
func TestExternalLibraryOnPython(t *testing.T) {
	p := startPythonLedger(t, pyledger.Options{Leeway: pythonLeeway})
	cfg, err := p.TargetConfig()
	require.NoError(t, err)
	for _, name := range pythonLibrary {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Find(name)
			require.NoError(t, err)
			rep, err := RunScenario(t.Context(), sc, WithTarget(cfg))
			if errors.Is(err, ErrNotOnTarget) {
				t.Skipf("not on the Python ledger: %v", err)
			}
			rep = judge(t, rep, err)
			if rep == nil {
				return
			}
			checkExternalRun(t, sc, rep)
			if name == "external-tokens-not-propagated" {
				for _, o := range rep.Outcomes {
					assert.Equal(t, pyledger.MethodStreamEntries, o.Method, "call %d goes to the service's own stream method", o.Index)
				}
			}
			if name == "external-credentials-missing" || name == "external-tokens-not-propagated" {
				require.NotEmpty(t, rep.Diagnoses)
				assert.Contains(t, rep.Diagnoses[0].Summary, pyledger.TokenHeader, "the diagnosis names the service's own header")
				assert.Contains(t, rep.Diagnoses[0].Fix, pyledger.TokenHeader)
			}
			if name != "external-measure-leeway" {
				return
			}
			require.Len(t, rep.Measurements, 1)
			f, ok := rep.Measurements[0].Figure("leeway")
			require.True(t, ok, "the leeway figure")
			assert.InDelta(t, pythonLeeway.Seconds(), f.Value.Seconds(), 1, "the measured leeway is the --leeway the service runs with")
		})
	}
}

// TestExternalGrantsKeepTheServicesMaxLifetime: a service that accepts
// four-second grants gets four-second grants, whatever the broker's TTL (5
// minutes by default), as it would from its own issuer, and a new one
// before each runs out, for as long as the run lasts (here twice as long
// as a grant and its one second of leeway).
func TestExternalGrantsKeepTheServicesMaxLifetime(t *testing.T) {
	p := startPythonLedger(t, pyledger.Options{MaxLifetime: 4 * time.Second, Leeway: time.Second})
	cfg, err := p.TargetConfig()
	require.NoError(t, err)
	require.Equal(t, 4*time.Second, cfg.MaxGrantLifetime)
	sc, err := scenarios.Parse("long.yaml", []byte(`name: long
summary: An approved caller calls for ten seconds.
topology: external
load: {duration: 10s, interval: 250ms}
expect: {codes: {OK: 100%}}
`), LoadOptions())
	require.NoError(t, err)
	rep := Run(t, sc, WithTarget(cfg))
	require.NotNil(t, rep)
	assert.Equal(t, rep.Calls, rep.Codes["OK"])
	assert.Greater(t, rep.Calls, 20, "the run outlasted a grant twice over")
}
