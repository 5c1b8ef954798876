package fakes

import (
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/token"
)

// TestFaultKinds applies each kind to a fake Env, checks its effect while
// the window is open, and checks that remove leaves the Env as it was.
func TestFaultKinds(t *testing.T) {
	tests := []struct {
		kind    string
		params  map[string]any
		static  bool
		applied func(t *testing.T, e *fakeEnv)
	}{
		{KindClockSkew, map[string]any{"target": "broker", "offset": "2m", "drift": 0.001}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, 2*time.Minute, e.clocks[TargetBroker].Offset())
			assert.Zero(t, e.clocks[TargetService].Offset(), "only the target")
		}},
		{KindClockSkew, map[string]any{"target": "service", "offset": "-45s"}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, -45*time.Second, e.clocks[TargetService].Offset())
		}},
		{KindNetwork, map[string]any{"link": "client-service", "latency": "50ms", "jitter": "10ms", "bandwidth": 1000}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, LinkSettings{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, BandwidthBytesPerSec: 1000},
				e.links[LinkClientService].Settings())
			assert.Equal(t, LinkSettings{}, e.links[LinkClientBroker].Settings())
		}},
		{KindNetwork, map[string]any{"link": "service-broker", "blackhole": true}, false, func(t *testing.T, e *fakeEnv) {
			assert.True(t, e.links[LinkServiceBroker].Settings().Blackhole)
		}},
		{KindNetwork, map[string]any{"link": "client-broker", "reset": true}, false, func(t *testing.T, e *fakeEnv) {
			assert.True(t, e.links[LinkClientBroker].Settings().Reset)
		}},
		{KindBrokerDown, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.True(t, e.links[LinkClientBroker].Settings().Reset)
			assert.True(t, e.links[LinkServiceBroker].Settings().Reset)
			assert.False(t, e.links[LinkClientService].Settings().Reset, "the service stays up")
		}},
		{KindCredentialsMissing, map[string]any{"credential": "identity"}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ClientSettings{OmitIdentity: true}, e.client.Settings())
		}},
		{KindCredentialsMissing, map[string]any{"credential": "grant"}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ClientSettings{OmitGrant: true}, e.client.Settings())
		}},
		{KindCredentialsMissing, map[string]any{"credential": "both"}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ClientSettings{OmitIdentity: true, OmitGrant: true}, e.client.Settings())
		}},
		{KindTokensNotPropagated, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ClientSettings{OmitOnStreams: true, Method: demov1.Vault_List_FullMethodName}, e.client.Settings())
		}},
		{KindTokensNotPropagated, map[string]any{"method": "/x.v1.S/Watch"}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, "/x.v1.S/Watch", e.client.Settings().Method)
		}},
		{KindShortDeadline, map[string]any{"deadline": "1ms"}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ClientSettings{Deadline: time.Millisecond}, e.client.Settings())
		}},
		{KindRetryWithoutDeadlineExtension, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ClientSettings{Retries: 3}, e.client.Settings())
		}},
		{KindRetryWithoutDeadlineExtension, map[string]any{"retries": 5, "extend": true}, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ClientSettings{Retries: 5, ExtendDeadlineOnRetry: true}, e.client.Settings())
		}},
		{KindStreamInterceptorMissing, nil, true, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ServiceSettings{NoStreamInterceptor: true}, e.service.Settings())
		}},
		{KindVerifierAlgorithms, map[string]any{"algorithms": []any{"ES256"}}, true, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ServiceSettings{Algorithms: []string{token.ES256}}, e.service.Settings())
		}},
		{KindVerifierWrongKey, nil, true, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, ServiceSettings{WrongGrantKeys: true}, e.service.Settings())
		}},
		{KindApproval, map[string]any{"behaviour": "deny", "after": "3s"}, false, func(t *testing.T, e *fakeEnv) {
			require.NotNil(t, e.broker.Approver())
			assert.Equal(t, Decision{After: 3 * time.Second, Comment: "jitbench approval fault: deny"}, e.broker.Approver().Decide(nil))
		}},
		{KindRevoke, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, []string{"RevokeActive"}, e.broker.Calls())
		}},
		{KindKeyRotation, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, []string{"RotateKey"}, e.broker.Calls())
		}},
		{KindBrokerRestart, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, []string{"Restart"}, e.broker.Calls())
		}},
		{KindTokenMutation, map[string]any{"case": "CLM-001"}, false, func(t *testing.T, e *fakeEnv) {
			s := e.client.Settings()
			require.NotNil(t, s.Mutate)
			assert.Nil(t, s.IdentityHeader)
		}},
		{KindTokenMutation, map[string]any{"credential": "identity", "case": "ID-003"}, false, func(t *testing.T, e *fakeEnv) {
			s := e.client.Settings()
			require.NotNil(t, s.IdentityHeader)
			assert.Equal(t, []string{"Bearer t", "Bearer t"}, s.IdentityHeader("t"))
			assert.Nil(t, s.Mutate)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			e := newFakeEnv(clockwork.NewFakeClockAt(t0))
			f, err := New(tt.kind, tt.params)
			require.NoError(t, err)
			s, isStatic := f.(Static)
			assert.Equal(t, tt.static, isStatic && s.Static(), "static")

			remove, err := f.Apply(e)
			require.NoError(t, err)
			tt.applied(t, e)
			remove()

			assert.Equal(t, ClientSettings{}, withoutFuncs(e.client.Settings()), "client restored")
			assert.Nil(t, e.client.Settings().Mutate)
			assert.Nil(t, e.client.Settings().IdentityHeader)
			assert.Equal(t, ServiceSettings{}, e.service.Settings(), "service restored")
			for name, c := range e.clocks {
				assert.Zero(t, c.Offset(), "clock %s restored", name)
			}
			for name, l := range e.links {
				assert.Equal(t, LinkSettings{}, l.Settings(), "link %s restored", name)
			}
			assert.Nil(t, e.broker.Approver(), "approver restored")
		})
	}
}

func withoutFuncs(s ClientSettings) ClientSettings {
	s.Mutate, s.IdentityHeader = nil, nil
	return s
}

// TestFaultKindParamErrors checks that each kind refuses bad params with
// an error naming the key, before anything is applied.
func TestFaultKindParamErrors(t *testing.T) {
	tests := []struct {
		kind   string
		params map[string]any
		key    string
	}{
		{KindClockSkew, map[string]any{"offset": "1m"}, "target"},
		{KindClockSkew, map[string]any{"target": "db", "offset": "1m"}, "target"},
		{KindClockSkew, map[string]any{"target": "client"}, "offset"},
		{KindClockSkew, map[string]any{"target": "client", "offset": 60}, "offset"},
		{KindNetwork, map[string]any{"latency": "1s"}, "link"},
		{KindNetwork, map[string]any{"link": "client-db", "latency": "1s"}, "link"},
		{KindNetwork, map[string]any{"link": "client-service", "latency": "-1s"}, "latency"},
		{KindNetwork, map[string]any{"link": "client-service", "jitter": "-1s"}, "jitter"},
		{KindNetwork, map[string]any{"link": "client-service", "bandwidth": -1}, "bandwidth"},
		{KindNetwork, map[string]any{"link": "client-service", "bandwidth": "1MB"}, "bandwidth"},
		{KindNetwork, map[string]any{"link": "client-service"}, ""},
		{KindBrokerDown, map[string]any{"links": "all"}, "links"},
		{KindCredentialsMissing, nil, "credential"},
		{KindCredentialsMissing, map[string]any{"credential": "token"}, "credential"},
		{KindTokensNotPropagated, map[string]any{"method": 1}, "method"},
		{KindStreamInterceptorMissing, map[string]any{"x": 1}, "x"},
		{KindVerifierAlgorithms, nil, "algorithms"},
		{KindVerifierAlgorithms, map[string]any{"algorithms": []any{}}, "algorithms"},
		{KindVerifierAlgorithms, map[string]any{"algorithms": []any{"ES512"}}, "algorithms"},
		{KindVerifierAlgorithms, map[string]any{"algorithms": "ES256"}, "algorithms"},
		{KindVerifierWrongKey, map[string]any{"key": "x"}, "key"},
		{KindShortDeadline, nil, "deadline"},
		{KindShortDeadline, map[string]any{"deadline": "0s"}, "deadline"},
		{KindShortDeadline, map[string]any{"deadline": "-1ms"}, "deadline"},
		{KindRetryWithoutDeadlineExtension, map[string]any{"retries": 0}, "retries"},
		{KindRetryWithoutDeadlineExtension, map[string]any{"extend": "no"}, "extend"},
		{KindApproval, nil, "behaviour"},
		{KindApproval, map[string]any{"behaviour": "maybe"}, "behaviour"},
		{KindApproval, map[string]any{"behaviour": "approve", "after": "-1s"}, "after"},
		{KindApproval, map[string]any{"behaviour": "deny", "deny_share": 0.5}, "deny_share"},
		{KindApproval, map[string]any{"behaviour": "flaky", "deny_share": 1.5}, "deny_share"},
		{KindApproval, map[string]any{"behaviour": "flaky", "deny_share": -0.1}, "deny_share"},
		{KindRevoke, map[string]any{"count": 1}, "count"},
		{KindKeyRotation, map[string]any{"alg": "ES256"}, "alg"},
		{KindBrokerRestart, map[string]any{"hard": true}, "hard"},
		{KindTokenMutation, nil, "case"},
		{KindTokenMutation, map[string]any{"case": "XYZ-001"}, "case"},
		{KindTokenMutation, map[string]any{"case": "ALG-001/nULL"}, "case"},
		{KindTokenMutation, map[string]any{"case": "CLM-007", "credential": "identity"}, "case"},
		{KindTokenMutation, map[string]any{"case": "ID-002"}, "case"},
		{KindTokenMutation, map[string]any{"case": "CLM-001", "credential": "both"}, "credential"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.key, func(t *testing.T) {
			_, err := New(tt.kind, tt.params)
			var pe *ParamError
			require.True(t, errors.As(err, &pe), "want a *ParamError, got %v", err)
			assert.Equal(t, tt.key, pe.Key, "%v", err)
		})
	}
}

func TestFaultsReportEnvErrors(t *testing.T) {
	e := newFakeEnv(clockwork.NewFakeClockAt(t0))
	delete(e.links, LinkServiceBroker)
	delete(e.clocks, TargetBroker)

	f, err := New(KindBrokerDown, nil)
	require.NoError(t, err)
	_, err = f.Apply(e)
	require.Error(t, err)
	assert.Equal(t, LinkSettings{}, e.links[LinkClientBroker].Settings(), "a half-applied broker-down is undone")

	f, err = New(KindClockSkew, map[string]any{"target": "broker", "offset": "1m"})
	require.NoError(t, err)
	_, err = f.Apply(e)
	require.Error(t, err)

	f, err = New(KindNetwork, map[string]any{"link": "service-broker", "reset": true})
	require.NoError(t, err)
	_, err = f.Apply(e)
	require.Error(t, err)

	e.broker.err = errors.New("broker on fire")
	f, err = New(KindRevoke, nil)
	require.NoError(t, err)
	_, err = f.Apply(e)
	require.ErrorContains(t, err, "broker on fire")
}

// TestOverlappingFaultsCompose applies two faults to one clock and one link
// and closes their windows in the order they opened: the second must
// survive the first's removal.
func TestOverlappingFaultsCompose(t *testing.T) {
	e := newFakeEnv(clockwork.NewFakeClockAt(t0))
	apply := func(kind string, params map[string]any) func() {
		f, err := New(kind, params)
		require.NoError(t, err)
		remove, err := f.Apply(e)
		require.NoError(t, err)
		return remove
	}
	skewA := apply(KindClockSkew, map[string]any{"target": "service", "offset": "1m"})
	skewB := apply(KindClockSkew, map[string]any{"target": "service", "offset": "10s"})
	netA := apply(KindNetwork, map[string]any{"link": "client-service", "latency": "100ms"})
	netB := apply(KindNetwork, map[string]any{"link": "client-service", "blackhole": true})
	skewA()
	netA()
	assert.Equal(t, 10*time.Second, e.clocks[TargetService].Offset())
	assert.Equal(t, LinkSettings{Blackhole: true}, e.links[LinkClientService].Settings())
	skewB()
	netB()
	assert.Zero(t, e.clocks[TargetService].Offset())
	assert.Equal(t, LinkSettings{}, e.links[LinkClientService].Settings())
}
