package fakes

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var allKinds = []string{
	KindApproval, KindBrokerDown, KindBrokerRestart, KindClockSkew, KindContainerKill, KindContainerPause,
	KindCredentialsMissing, KindGRPCFault, KindKeyRotation, KindKeySource, KindNetwork, KindNetworkPartition, KindRetryWithoutDeadlineExtension, KindRevoke, KindShortDeadline, KindStreamInterceptorMissing,
	KindTokenMutation, KindTokensNotPropagated, KindVerifierAlgorithms, KindVerifierWrongKey,
}

func TestKindsAreSortedAndComplete(t *testing.T) {
	assert.ElementsMatch(t, allKinds, Kinds())
	assert.IsNonDecreasing(t, Kinds())
}

func TestEveryKindIsDocumented(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k, func(t *testing.T) {
			d := Doc(k)
			assert.NotEmpty(t, d.Summary)
			assert.Regexp(t, `^(client side|broker|proxy|key source|the config's revoke hook|refused)\b`, d.External, "how %s acts on a user's service", k)
			for _, p := range d.Params {
				assert.NotEmpty(t, p.Name)
				assert.NotEmpty(t, p.Type, p.Name)
				assert.NotEmpty(t, p.Doc, p.Name)
			}
		})
	}
	assert.Equal(t, []ParamDoc{
		{Name: "target", Type: "one of client, service, broker", Doc: "whose clock is wrong (required)"},
		{Name: "offset", Type: "duration", Doc: "how far ahead (negative: behind) the clock is"},
		{Name: "drift", Type: "number", Doc: "seconds gained per second from the window's start (0.001 = 1 ms/s; negative loses time)"},
	}, Doc(KindClockSkew).Params)
	assert.Equal(t, KindDoc{}, Doc("no-such-kind"))
}

func TestNewUnknownKindNamesTheKnownOnes(t *testing.T) {
	_, err := New("clock-skwe", nil)
	require.ErrorIs(t, err, ErrUnknownKind)
	assert.Contains(t, err.Error(), `"clock-skwe"`)
	for _, k := range allKinds {
		assert.Contains(t, err.Error(), k)
	}
}

func TestNewWrapsParamErrors(t *testing.T) {
	_, err := New(KindClockSkew, map[string]any{"target": "client", "offest": "2m"})
	require.Error(t, err)
	var pe *ParamError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "offest", pe.Key)
	assert.Equal(t, `fault clock-skew: param "offest": unknown param (known: drift, offset, target)`, err.Error())
}

func TestRegisterPanicsOnMisuse(t *testing.T) {
	f := func(map[string]any) (Fault, error) { return FaultFunc(nil), nil }
	assert.PanicsWithValue(t, `fakes: fault kind "clock-skew" registered twice`, func() { Register(KindClockSkew, f) })
	assert.Panics(t, func() { Register("", f) })
	assert.Panics(t, func() { Register("x", nil) })
	assert.Panics(t, func() { Document("never-registered", KindDoc{}) })
}

func TestRegisterAndDocumentACustomKind(t *testing.T) {
	const kind = "test-custom-kind"
	Register(kind, func(map[string]any) (Fault, error) {
		return FaultFunc(func(Env) (func(), error) { return noop, nil }), nil
	})
	t.Cleanup(func() {
		registry.Lock()
		delete(registry.kinds, kind)
		registry.Unlock()
	})
	assert.Equal(t, KindDoc{}, Doc(kind), "undocumented until Document")
	Document(kind, KindDoc{Summary: "custom"})
	assert.Equal(t, "custom", Doc(kind).Summary)
	f, err := New(kind, nil)
	require.NoError(t, err)
	assert.NotNil(t, f)
}
