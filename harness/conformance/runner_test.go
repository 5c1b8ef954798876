package conformance_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/jitbench/jitbench/harness/conformance"
	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
	"github.com/jitbench/jitbench/reports"
)

// byID returns the result's case id.
func byID(t *testing.T, res *reports.ConformanceResult, id string) reports.ConformanceCase {
	t.Helper()
	for _, c := range res.Cases {
		if c.ID == id {
			return c
		}
	}
	require.FailNow(t, "no case "+id+" in the result")
	return reports.ConformanceCase{}
}

// TestKnownFailing runs against a reference whose streams are unprotected,
// so SCP-004 fails: listed, it is known failing and the run passes; a listed
// case that passes fails the run and says to take it off the list.
func TestKnownFailing(t *testing.T) {
	cfg, _ := startReference(t, referenceOptions{service: func(c *stack.Config) { c.NoStreamInterceptor = true }})
	run := []string{"OK-001", "SCP-004"}

	res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: run})
	require.NoError(t, err)
	scp := byID(t, res, "SCP-004")
	assert.Equal(t, reports.CaseFail, scp.Verdict)
	assert.Equal(t, conformance.RuleNeverOK, scp.Rule)
	assert.Equal(t, []string{conformance.RuleNeverOK, conformance.RuleHandlerNotRun, conformance.RuleExpectedCode}, scp.Variants[0].Rules)
	assert.Equal(t, "OK", scp.Got)
	assert.True(t, res.Failed())

	kf, err := conformance.NewKnownFailing("SCP-004")
	require.NoError(t, err)
	res, err = conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: run, KnownFailing: kf})
	require.NoError(t, err)
	scp = byID(t, res, "SCP-004")
	assert.Equal(t, reports.CaseKnownFail, scp.Verdict)
	assert.Contains(t, scp.Detail, "listed in the known-failing list:1")
	assert.False(t, res.Failed(), "a known failure does not fail the run")
	assert.Equal(t, 1, res.Summary().KnownFailing)

	kf, err = conformance.NewKnownFailing("SCP-004", "OK-001")
	require.NoError(t, err)
	res, err = conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: run, KnownFailing: kf})
	require.NoError(t, err)
	ok := byID(t, res, "OK-001")
	assert.Equal(t, reports.CaseFail, ok.Verdict)
	assert.Equal(t, conformance.RuleKnownFailingPassed, ok.Rule)
	assert.Contains(t, ok.Detail, "remove OK-001 from the known-failing list")
	assert.True(t, res.Failed())
}

// TestMissingCapabilitiesSkip checks that a case whose need the config
// does not meet is skipped with the reason, never passed, and that a run
// without a handler probe says the rule was not checked.
func TestMissingCapabilitiesSkip(t *testing.T) {
	cfg, _ := startReference(t, referenceOptions{autoApprove: true})
	cfg.Broker, cfg.Stream, cfg.OneShot, cfg.Resource, cfg.OutOfScope, cfg.KeySource, cfg.HandlerCalls = nil, nil, false, "", nil, nil, nil
	cfg.MaxGrantLifetime, cfg.MaxTokenBytes, cfg.KidRequired, cfg.TypChecked = 0, 0, false, false
	cfg.Grant.Keys = token.NewKeySet(devKey(t, token.DevGrantIssuer, token.EdDSA)) // no ES256 key
	res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{
		Run: []string{"SCP-*", "CLM-00[48]", "CLM-010", "DL-003", "OUT-00[23]", "FMT-005", "KEY-00[34]", "SIG-00[45]"}})
	require.NoError(t, err)
	want := map[string]string{
		"CLM-004": "needs: max lifetime (the config declares no maximum grant lifetime (max_grant_lifetime))",
		"CLM-008": "needs: one-shot (the config does not say the target honours one-shot grants (one_shot))",
		"CLM-010": "needs: typ checked",
		"FMT-005": "needs: size limit",
		"KEY-003": "needs: kid required",
		"KEY-004": "needs: key source control",
		"SCP-002": "needs: resource scope",
		"SCP-003": "needs: revocation (the config names no broker the target trusts and no revoke hook)",
		"SCP-004": "needs: stream method",
		"SIG-004": "needs: ECDSA (the grant issuer has no ES256 key)",
		"SIG-005": "needs: ECDSA",
		"DL-003":  "needs: key source control (the target's key source is not under the suite's control (key_source; Config.KeySource from Go))",
		"OUT-002": "needs: key source control",
		"OUT-003": "needs: key source control",
	}
	for id, need := range want {
		c := byID(t, res, id)
		assert.Equal(t, reports.CaseSkip, c.Verdict, id)
		assert.Contains(t, c.Detail, need, id)
	}
	assert.Equal(t, reports.CasePass, byID(t, res, "SCP-001").Verdict)
	assert.Equal(t, reports.CasePass, byID(t, res, "SCP-005").Verdict)
	assert.Equal(t, reports.ConformanceSummary{Total: len(want) + 2, Passed: 2, Skipped: len(want)}, res.Summary())
	require.Len(t, res.Notes, 1)
	assert.Contains(t, res.Notes[0], "handler runs are not observable")
}

// devKey is one development key of issuer.
func devKey(t *testing.T, issuer, alg string) *token.Key {
	t.Helper()
	for _, k := range token.DevKeySet(issuer).Keys() {
		if k.Algorithm == alg {
			return k
		}
	}
	require.FailNow(t, "no dev key "+alg)
	return nil
}

// TestSuiteCannotRun checks the errors that stop a run before any case.
func TestSuiteCannotRun(t *testing.T) {
	cfg, _ := startReference(t, referenceOptions{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := lis.Addr().String()
	require.NoError(t, lis.Close())

	for _, tt := range []struct {
		name   string
		change func(c *conformance.Config)
		opts   conformance.Options
		want   error
		words  string
	}{
		{"nothing listens", func(c *conformance.Config) { c.Address = closed }, conformance.Options{}, conformance.ErrUnreachable, "cannot reach " + closed},
		{"control method refused", func(c *conformance.Config) {
			c.Control = &conformance.Call{Method: "/demo.v1.Vault/Read", JSON: `{"path":"x"}`}
		}, conformance.Options{}, conformance.ErrUnreachable, "the control method /demo.v1.Vault/Read answered UNAUTHENTICATED"},
		{"unknown method", func(c *conformance.Config) { c.Method.Method = "/demo.v1.Vault/Erase" }, conformance.Options{},
			conformance.ErrInvalidConfig, "service demo.v1.Vault has no method Erase"},
		{"payload of the wrong shape", func(c *conformance.Config) { c.Method.JSON = `{"pathh":"x"}` }, conformance.Options{},
			conformance.ErrInvalidConfig, "the payload of /demo.v1.Vault/Read"},
		{"stream that does not stream", func(c *conformance.Config) { c.Stream.Method = "/demo.v1.Vault/Read" }, conformance.Options{},
			conformance.ErrInvalidConfig, "does not stream"},
		{"no grant keys", func(c *conformance.Config) { c.Grant.Keys = nil }, conformance.Options{}, conformance.ErrInvalidConfig, "grant issuer"},
		{"bad profile", func(c *conformance.Config) { c.Profile = "three-token" }, conformance.Options{}, conformance.ErrInvalidConfig, "three-token"},
		{"bad selection", func(*conformance.Config) {}, conformance.Options{Run: []string{"NOPE-*"}}, conformance.ErrSelection, "NOPE-*"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := *cfg
			stream := *cfg.Stream
			c.Stream = &stream
			tt.change(&c)
			_, err := conformance.RunSuite(t.Context(), &c, tt.opts)
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.words)
		})
	}
	_, err = conformance.RunSuite(t.Context(), nil, conformance.Options{})
	require.ErrorIs(t, err, conformance.ErrInvalidConfig)
}

// TestRequestsWithoutReflection sends requests read from a descriptor set
// file, and a binary request, as a target without server reflection needs.
func TestRequestsWithoutReflection(t *testing.T) {
	cfg, _ := startReference(t, referenceOptions{})
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(demov1.File_demo_v1_vault_proto)}}
	raw, err := proto.Marshal(set)
	require.NoError(t, err)
	cfg.DescriptorSet = filepath.Join(t.TempDir(), "vault.protoset")
	require.NoError(t, os.WriteFile(cfg.DescriptorSet, raw, 0o600))
	cfg.Control = nil // grpc.health.v1 is not in the set

	res, err := conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: []string{"OK-001", "SCP-00[24]"}})
	require.NoError(t, err)
	assert.Equal(t, reports.ConformanceSummary{Total: 3, Passed: 3}, res.Summary())

	read, err := proto.Marshal(&demov1.ReadRequest{Path: "secrets/db/password"})
	require.NoError(t, err)
	cfg.DescriptorSet, cfg.Stream, cfg.OutOfScope = "", nil, nil
	cfg.Method = conformance.Call{Method: "/demo.v1.Vault/Read", Binary: read}
	res, err = conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: []string{"OK-001", "SCP-002"}})
	require.NoError(t, err)
	assert.Equal(t, reports.ConformanceSummary{Total: 2, Passed: 2}, res.Summary())

	cfg.Method.Binary = []byte{0xff, 0xff}
	_, err = conformance.RunSuite(t.Context(), cfg, conformance.Options{Run: []string{"OK-001"}})
	require.ErrorIs(t, err, conformance.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "is not protobuf")
}
