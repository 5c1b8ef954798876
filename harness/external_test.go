package harness

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/harness/zootarget"
	"github.com/jitbench/jitbench/reports"
	"github.com/jitbench/jitbench/scenarios"
)

// zooTarget starts kind's correct build as a process of its own and
// returns its target config, written from the service's documented
// conventions as a user would write it: with the revoke hook of a service
// that has one, and the key source jitbench serves a service that can read
// its keys from it.
func zooTarget(t *testing.T, kind zoo.Kind) *conformance.Config {
	t.Helper()
	return zootarget.Start(t, kind, zootarget.Options{SuiteKeys: true, ServeKeys: true}).Config
}

// TestExternalLibrary runs every scenario of the external library against
// the zoo's correct builds, each a process of its own written in another
// team's conventions: each scenario's expectations hold (its diagnoses
// included) wherever it can act, a scenario the service gives no way to
// act on is refused as such before anything runs, and every scenario ran
// on at least two services.
func TestExternalLibrary(t *testing.T) {
	lib, err := Library()
	require.NoError(t, err)
	external := Tagged(lib, TagExternal)
	require.NotEmpty(t, external)
	var (
		mu  sync.Mutex
		ran = map[string][]zoo.Kind{}
	)
	t.Run("members", func(t *testing.T) {
		for _, kind := range zoo.Kinds() {
			t.Run(string(kind), func(t *testing.T) {
				// One member at a time, one service for the scenarios that
				// leave it as they found it; a service of its own for each
				// that changes it (a key source down, keys rotated, grants
				// revoked), so nothing it did reaches the next.
				shared := zooTarget(t, kind)
				for _, sc := range external {
					t.Run(sc.Name, func(t *testing.T) {
						cfg := shared
						if changesTheService(sc) {
							cfg = zooTarget(t, kind)
						}
						rep, err := RunScenario(t.Context(), sc, WithTarget(cfg))
						if errors.Is(err, ErrNotOnTarget) {
							t.Logf("not on %s: %v", kind, err)
							return
						}
						rep = judge(t, rep, err)
						if rep == nil {
							return
						}
						checkExternalRun(t, sc, rep)
						mu.Lock()
						ran[sc.Name] = append(ran[sc.Name], kind)
						mu.Unlock()
					})
				}
			})
		}
	})
	for _, sc := range external {
		assert.GreaterOrEqual(t, len(ran[sc.Name]), 2, "%s ran on %v: every external scenario runs on two services at least", sc.Name, ran[sc.Name])
	}
}

// changesTheService reports whether sc leaves the service other than it
// found it: its key source, its keys or its revocations.
func changesTheService(sc *scenarios.Scenario) bool {
	for _, f := range sc.Faults {
		if f.Kind == fakes.KindKeySource || f.Kind == fakes.KindKeyRotation || f.Kind == fakes.KindRevoke {
			return true
		}
	}
	return slices.ContainsFunc(sc.Measure, func(m string) bool { return m == "key-rotation" || m == "revocation" })
}

// checkExternalRun checks what every run against a user's service shows:
// each failed call diagnosed with a summary that names its code, no token
// in any of them, and an explanation.
func checkExternalRun(t *testing.T, sc *scenarios.Scenario, rep *Report) {
	t.Helper()
	assert.Equal(t, TopologyExternal, rep.Topology)
	if sc.Explain != "" {
		assert.NotEmpty(t, rep.Explanation)
		assert.NotContains(t, rep.Explanation, "<no value>")
	}
	for _, o := range rep.Outcomes {
		if o.Code == codes.OK {
			assert.Nil(t, o.Diagnosis, "call %d passed", o.Index)
			continue
		}
		require.NotNil(t, o.Diagnosis, "call %d: %s %s", o.Index, o.Code, o.Message)
		assert.NotEmpty(t, o.Diagnosis.Summary)
		assert.NotContains(t, o.Diagnosis.Summary+o.Diagnosis.Fix, "eyJ", "a diagnosis never shows a token")
		assert.Nil(t, o.sent, "the tokens a call carried are dropped once diagnosed")
	}
	if rep.Result != nil {
		var n int64
		for _, d := range rep.Result.Diagnoses {
			n += d.Calls
		}
		failed := 0
		for _, o := range rep.Outcomes {
			if o.Code != codes.OK {
				failed++
			}
		}
		assert.Equal(t, int64(failed), n, "the result carries the diagnoses, for the HTML report")
	}
}

// TestExternalMeasurementsMatchTheZoo: the measurement scenarios find each
// service's documented leeway within a second, and its revocation delay
// within its propagation bound.
func TestExternalMeasurementsMatchTheZoo(t *testing.T) {
	leeway, err := scenarios.Find("external-measure-leeway")
	require.NoError(t, err)
	revocation, err := scenarios.Find("external-measure-revocation")
	require.NoError(t, err)
	for _, kind := range []zoo.Kind{zoo.BearerGrant, zoo.ScpArray} {
		t.Run(string(kind), func(t *testing.T) {
			cfg := zooTarget(t, kind)
			conv, err := zoo.Describe(kind)
			require.NoError(t, err)
			rep := Run(t, leeway, WithTarget(cfg))
			require.NotNil(t, rep)
			require.Len(t, rep.Measurements, 1)
			f, ok := rep.Measurements[0].Figure("leeway")
			require.True(t, ok)
			assert.InDelta(t, conv.Leeway.Seconds(), f.Value.Seconds(), 1, "leeway within 1 s of the service's own")

			rep = Run(t, revocation, WithTarget(cfg))
			require.NotNil(t, rep)
			p50, ok := rep.Measurements[0].Figure("revocation-p50")
			require.True(t, ok)
			assert.GreaterOrEqual(t, p50.Value, conv.RevocationDelay, "not before the service's propagation delay")
			// One poll (20ms) and a loaded machine's call past the delay.
			assert.Less(t, p50.Value, conv.RevocationDelay+time.Second)
		})
	}
}

// TestExternalRefusesWhatCannotAct: a fault that acts inside the service,
// or on what the config gives no way to reach, is refused before anything
// runs, at its file:line:col, saying why.
func TestExternalRefusesWhatCannotAct(t *testing.T) {
	cfg := zooTarget(t, zoo.MethodsList)
	for _, tc := range []struct{ name, yaml, want string }{
		{"service clock", "faults: [{kind: clock-skew, target: service, offset: 1m}]", "skewing the service's clock cannot act on an external target"},
		{"service build", "faults: [{kind: verifier-algorithms, algorithms: [RS256]}]", "the service is built by you"},
		{"service-broker link", "faults: [{kind: network, link: service-broker, latency: 10ms}]", "does not call jitbench's broker"},
		{"key source", "faults: [{kind: key-source}]", "this target config has none"},
		{"revocation", "measure: [revocation]\nexpect: {measurements: measured}", "needs a revoke hook"},
		{"the reference's verifier", "service: {leeway: 10s}", "service (the reference's verifier"},
		{"the reference client's request", "client: {grant_scope: [/demo.v1.Vault/Write]}", "the target config names the subject, the method"},
		{"a method the config does not name", "faults: [{kind: tokens-not-propagated, method: /x.v1.Other/Watch}]", "names only its method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "name: refused\nsummary: s.\ntopology: external\n" + tc.yaml + "\n"
			if !strings.Contains(tc.yaml, "expect") {
				text += "expect: {codes: {OK: 100%}}\n"
			}
			sc, err := scenarios.Parse("refused.yaml", []byte(text), LoadOptions())
			require.NoError(t, err)
			_, err = RunScenario(t.Context(), sc, WithTarget(cfg))
			require.ErrorIs(t, err, ErrNotOnTarget)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "refused.yaml")
		})
	}
	t.Run("no target", func(t *testing.T) {
		sc, err := scenarios.Find("external-baseline")
		require.NoError(t, err)
		_, err = RunScenario(t.Context(), sc)
		assert.ErrorIs(t, err, ErrNeedsTarget)
		_, err = RunScenario(t.Context(), sc, WithTopology(TopologyInProcess))
		assert.ErrorIs(t, err, ErrNeedsTarget, "an external scenario never runs on the reference")
	})
}

// TestExternalLibraryFailsNeutered runs each external scenario with faults
// against two of the zoo's services with every fault applied to a probe
// instead: each must fail, its "acted" checks at least, as the reference's
// scenarios must (TestLibraryFailsWithItsFaultsNeutered).
func TestExternalLibraryFailsNeutered(t *testing.T) {
	lib, err := Library()
	require.NoError(t, err)
	for _, kind := range []zoo.Kind{zoo.MethodsList, zoo.OAuthScope} {
		t.Run(string(kind), func(t *testing.T) {
			cfg := zooTarget(t, kind)
			for _, sc := range Tagged(lib, TagExternal) {
				if len(sc.Faults) == 0 {
					continue
				}
				t.Run(sc.Name, func(t *testing.T) {
					rep, err := runScenario(t.Context(), sc, options{neutered: true, target: cfg})
					if errors.Is(err, ErrNotOnTarget) {
						t.Skipf("not on %s: %v", kind, err)
					}
					require.NoError(t, err)
					assert.False(t, rep.Pass(), "%s passes although none of its faults reached the service", sc.Name)
					for i := range sc.Faults {
						c := rep.Checks[actedIndex(t, rep, i, sc)]
						assert.False(t, c.Pass, "%s: the service never met it, yet its check holds: %s", c.Name, c.Got)
					}
				})
			}
		})
	}
}

// TestMeasurementScenarioWritesAResult: a scenario of measurements alone
// (no load) still has a result, with no calls, its findings and its
// checks, which reads back as any result does.
func TestMeasurementScenarioWritesAResult(t *testing.T) {
	cfg := zooTarget(t, zoo.MethodsList)
	sc, err := scenarios.Find("external-measure-leeway")
	require.NoError(t, err)
	rep := Run(t, sc, WithTarget(cfg))
	require.NotNil(t, rep)
	require.NotNil(t, rep.Result)
	assert.Zero(t, rep.Result.Calls)
	assert.NotEmpty(t, rep.Result.Findings)
	assert.NotEmpty(t, rep.Result.Expectations)
	var b bytes.Buffer
	require.NoError(t, reports.Write(&b, rep.Result))
	back, err := reports.Read(&b)
	require.NoError(t, err)
	assert.Equal(t, rep.Result.Findings, back.Findings)
}

// TestFaultKindsActAsTheyDeclare: each fault kind, with minimal
// parameters, is refused on a user's service exactly when its declaration
// (fakes.KindDoc.External) says "refused"; the service here has every
// optional part (a key source jitbench serves, a revoke hook, a stream
// method), so nothing is refused for want of one.
func TestFaultKindsActAsTheyDeclare(t *testing.T) {
	cfg := zooTarget(t, zoo.ScpArray)
	require.NotNil(t, cfg.KeySource)
	require.NotNil(t, cfg.Revoker)
	require.NotNil(t, cfg.Stream)
	minimal := map[string]string{
		fakes.KindApproval:                      "{kind: approval, behaviour: approve}",
		fakes.KindBrokerDown:                    "{kind: broker-down}",
		fakes.KindBrokerRestart:                 "{kind: broker-restart}",
		fakes.KindClockSkew:                     "{kind: clock-skew, target: broker, offset: 1m}",
		fakes.KindContainerKill:                 "{kind: container-kill}",
		fakes.KindContainerPause:                "{kind: container-pause}",
		fakes.KindCredentialsMissing:            "{kind: credentials-missing, credential: both}",
		fakes.KindGRPCFault:                     "{kind: grpc-fault, fault: 'abort:code=UNAVAILABLE'}",
		fakes.KindKeyRotation:                   "{kind: key-rotation}",
		fakes.KindKeySource:                     "{kind: key-source}",
		fakes.KindNetwork:                       "{kind: network, link: client-service, latency: 1ms}",
		fakes.KindNetworkPartition:              "{kind: network-partition}",
		fakes.KindRetryWithoutDeadlineExtension: "{kind: retry-without-deadline-extension}",
		fakes.KindRevoke:                        "{kind: revoke}",
		fakes.KindShortDeadline:                 "{kind: short-deadline, deadline: 1s}",
		fakes.KindStreamInterceptorMissing:      "{kind: stream-interceptor-missing}",
		fakes.KindTokenMutation:                 "{kind: token-mutation, case: CLM-001}",
		fakes.KindTokensNotPropagated:           "{kind: tokens-not-propagated}",
		fakes.KindVerifierAlgorithms:            "{kind: verifier-algorithms, algorithms: [RS256]}",
		fakes.KindVerifierWrongKey:              "{kind: verifier-wrong-key}",
	}
	for _, kind := range fakes.Kinds() {
		t.Run(kind, func(t *testing.T) {
			fault, ok := minimal[kind]
			require.True(t, ok, "the test knows every kind: add %s", kind)
			sc, err := scenarios.Parse("kind.yaml", []byte("name: kind\nsummary: s.\ntopology: external\nbroker: {approval: reviewer}\nfaults: ["+fault+"]\nexpect: {codes: {OK: 100%}}\n"), LoadOptions())
			require.NoError(t, err)
			err = preflight(withDefaults(*sc), externalTopologyFor(t, cfg))
			declared := fakes.Doc(kind).External
			if strings.HasPrefix(declared, "refused") {
				assert.Error(t, err, "%s declares %q", kind, declared)
			} else {
				assert.NoError(t, err, "%s declares %q", kind, declared)
			}
		})
	}
}

// externalTopologyFor connects to the service cfg describes, for preflight alone.
func externalTopologyFor(t *testing.T, cfg *conformance.Config) topology {
	t.Helper()
	top, err := openTopology(t.Context(), TopologyExternal, startOptions{target: cfg})
	require.NoError(t, err)
	t.Cleanup(top.abandon)
	return top
}

// TestExternalCountsHandlerRunsWhenItCan: a config built in Go with
// HandlerCalls (a service in this process) gets the reference's check that
// no refused call ran the handler, and it holds.
func TestExternalCountsHandlerRunsWhenItCan(t *testing.T) {
	dir := t.TempDir()
	_, err := zoo.GenerateKeys(zoo.MethodsList, dir)
	require.NoError(t, err)
	svc, err := zoo.Start(zoo.MethodsList, zoo.None, zoo.Options{KeysDir: dir})
	require.NoError(t, err)
	t.Cleanup(svc.Stop)
	path, err := zoo.WriteTargetConfig(zoo.MethodsList, dir, svc.Addr)
	require.NoError(t, err)
	cfg, err := conformance.LoadConfig(path)
	require.NoError(t, err)
	cfg.HandlerCalls = svc.HandlerCalls
	for _, name := range []string{"external-baseline", "external-grant-tampered"} {
		sc, err := scenarios.Find(name)
		require.NoError(t, err)
		rep := Run(t, sc, WithTarget(cfg))
		require.NotNil(t, rep)
		assert.NotContains(t, rep.Notes, NoteHandlerUnseen)
		var found bool
		for _, c := range rep.Checks {
			if c.Name == HandlerCheck {
				found = true
				assert.True(t, c.Pass, c.Got)
			}
		}
		assert.True(t, found, "%s has the handler check", name)
		assert.Equal(t, int64(rep.Codes["OK"]), rep.HandlerRuns, "%s: the handler ran once per OK call", name)
	}
}
