package fakes

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
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
			assert.Equal(t, ClientSettings{OmitOnStreams: true, Stream: true}, e.client.Settings())
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
			assert.Equal(t, []Effect{{What: "revoked 3 active grants", Met: 3}}, e.measured())
		}},
		{KindKeyRotation, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, []string{"RotateKey"}, e.broker.Calls())
			assert.Equal(t, []Effect{{What: "made signing key kid-2 current", Met: 1}}, e.measured())
		}},
		{KindBrokerRestart, nil, false, func(t *testing.T, e *fakeEnv) {
			assert.Equal(t, []string{"Restart"}, e.broker.Calls())
			assert.Equal(t, []Effect{{What: "restarted the broker: it was down for 5ms", Met: 1}}, e.measured())
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
			effects := e.measured()
			require.Len(t, effects, 1, "the fault records what it did")
			// A broker operation acts once, when applied; the rest act when the system meets them.
			once := slices.Contains([]string{KindRevoke, KindKeyRotation, KindBrokerRestart}, tt.kind)
			if !once {
				assert.Zero(t, effects[0].Met, "nothing met the fault yet: %s", effects[0].What)
			}
			tt.applied(t, e)
			meetEverything(t, e)
			effects = e.measured()
			assert.Positive(t, effects[0].Met, "the system met the fault: %s", effects[0].What)
			if !once {
				assert.Contains(t, effects[0].What, strconv.FormatInt(effects[0].Met, 10), "the effect says how often")
			}
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

// meetEverything does what a running system does with every setting a
// fault can change: a call reads the client knobs (forging and bending its
// credentials as they say), the service is built from its knobs, every
// component reads its clock, every link is dialled and written on, and the
// reviewer is asked about a request.
func meetEverything(t *testing.T, e *fakeEnv) {
	t.Helper()
	s := e.client.Use()
	if s.Mutate != nil {
		s.Mutate(CredentialGrant, "a.b.c")
		s.Mutate(CredentialIdentity, "a.b.c")
	}
	if s.IdentityHeader != nil {
		s.IdentityHeader("t")
	}
	e.service.Use()
	for _, c := range e.clocks {
		c.Now()
	}
	for _, l := range e.links {
		c, err := l.Dialer(func(context.Context, string) (net.Conn, error) {
			a, b := net.Pipe()
			go func() { _, _ = io.Copy(io.Discard, b) }() // the peer reads what comes
			t.Cleanup(func() { _ = b.Close() })
			return a, nil
		})(t.Context(), "x")
		if err != nil {
			continue // refused: a reset layer counted the dial
		}
		_, err = c.Write([]byte("x"))
		require.NoError(t, err)
		require.NoError(t, c.Close())
	}
	if a := e.broker.Approver(); a != nil {
		a.Decide(&jitv1.AccessRequest{Id: "r"})
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

// TestOverlappingFaultsCompose applies two faults to one setting (a clock,
// a link, the client's knobs, the service's knobs, the reviewer) and closes
// their windows in either order: the fault still open must keep its whole
// effect, and once both are closed nothing of either is left. Before the
// knobs had layers, closing the first window restored the settings it had
// found, wiping the second fault (credentials-missing identity at 0-300ms
// plus credentials-missing grant from 100ms left no GRANT_MISSING at all).
func TestOverlappingFaultsCompose(t *testing.T) {
	type fault struct {
		kind   string
		params map[string]any
	}
	tests := []struct {
		name   string
		first  fault
		second fault
	}{
		{"two clock skews", fault{KindClockSkew, map[string]any{"target": "service", "offset": "1m"}},
			fault{KindClockSkew, map[string]any{"target": "service", "offset": "10s"}}},
		{"two link faults", fault{KindNetwork, map[string]any{"link": "client-service", "latency": "100ms"}},
			fault{KindNetwork, map[string]any{"link": "client-service", "blackhole": true}}},
		{"broker-down and a link fault", fault{KindBrokerDown, nil},
			fault{KindNetwork, map[string]any{"link": "client-broker", "latency": "1s"}}},
		{"identity then grant left off", fault{KindCredentialsMissing, map[string]any{"credential": "identity"}},
			fault{KindCredentialsMissing, map[string]any{"credential": "grant"}}},
		{"both credentials then the grant", fault{KindCredentialsMissing, map[string]any{"credential": "both"}},
			fault{KindCredentialsMissing, map[string]any{"credential": "grant"}}},
		{"two deadlines", fault{KindShortDeadline, map[string]any{"deadline": "1ms"}},
			fault{KindShortDeadline, map[string]any{"deadline": "5ms"}}},
		{"retries and a deadline", fault{KindRetryWithoutDeadlineExtension, map[string]any{"retries": 2}},
			fault{KindShortDeadline, map[string]any{"deadline": "5ms"}}},
		{"streams and credentials", fault{KindTokensNotPropagated, nil},
			fault{KindCredentialsMissing, map[string]any{"credential": "both"}}},
		{"two retry settings", fault{KindRetryWithoutDeadlineExtension, map[string]any{"retries": 2}},
			fault{KindRetryWithoutDeadlineExtension, map[string]any{"retries": 5, "extend": true}}},
		{"two forgeries", fault{KindTokenMutation, map[string]any{"case": "CLM-001"}},
			fault{KindTokenMutation, map[string]any{"credential": "identity", "case": "ID-003"}}},
		{"forgery and credentials", fault{KindTokenMutation, map[string]any{"case": "SIG-002"}},
			fault{KindCredentialsMissing, map[string]any{"credential": "identity"}}},
		{"service algorithms and keys", fault{KindVerifierAlgorithms, map[string]any{"algorithms": []any{"ES256"}}},
			fault{KindVerifierWrongKey, nil}},
		{"service keys and interceptor", fault{KindVerifierWrongKey, nil}, fault{KindStreamInterceptorMissing, nil}},
		{"two reviewers", fault{KindApproval, map[string]any{"behaviour": "deny"}},
			fault{KindApproval, map[string]any{"behaviour": "approve", "after": "1s"}}},
		{"reviewer and credentials", fault{KindApproval, map[string]any{"behaviour": "never"}},
			fault{KindCredentialsMissing, map[string]any{"credential": "grant"}}},
	}
	apply := func(t *testing.T, e *fakeEnv, f fault) func() {
		t.Helper()
		impl, err := New(f.kind, f.params)
		require.NoError(t, err)
		remove, err := impl.Apply(e)
		require.NoError(t, err)
		return remove
	}
	// alone is what f does on an Env of its own.
	alone := func(t *testing.T, f fault) envState {
		e := newFakeEnv(clockwork.NewFakeClockAt(t0))
		apply(t, e, f)
		return stateOf(e)
	}
	for _, tt := range tests {
		for _, order := range []string{"first closes first", "second closes first"} {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				e := newFakeEnv(clockwork.NewFakeClockAt(t0))
				removeFirst := apply(t, e, tt.first)
				removeSecond := apply(t, e, tt.second)
				if order == "first closes first" {
					removeFirst()
					assert.Equal(t, alone(t, tt.second), stateOf(e), "the second fault keeps its whole effect")
					removeSecond()
				} else {
					removeSecond()
					assert.Equal(t, alone(t, tt.first), stateOf(e), "the first fault keeps its whole effect")
					removeFirst()
				}
				assert.Equal(t, envState{}, stateOf(e), "nothing of either is left")
			})
		}
	}
}

// envState is what faults can change on a fakeEnv, comparable: funcs are
// reduced to what they do to a sample token.
type envState struct {
	Client         ClientSettings
	Mutates        [2]string
	IdentityHeader []string
	Service        ServiceSettings
	Offsets        map[string]time.Duration
	Links          map[string]LinkSettings
	Decision       *Decision
}

func stateOf(e *fakeEnv) envState {
	var st envState
	st.Client = withoutFuncs(e.client.Settings())
	if m := e.client.Settings().Mutate; m != nil {
		// Forgeries are signed afresh each time: compare their shape, not their bytes.
		st.Mutates = [2]string{shape(m(CredentialGrant, "")), shape(m(CredentialIdentity, ""))}
	}
	if h := e.client.Settings().IdentityHeader; h != nil {
		st.IdentityHeader = h("t")
	}
	st.Service = e.service.Settings()
	for name, c := range e.clocks {
		if off := c.Offset(); off != 0 {
			if st.Offsets == nil {
				st.Offsets = map[string]time.Duration{}
			}
			st.Offsets[name] = off
		}
	}
	for name, l := range e.links {
		if s := l.Settings(); s != (LinkSettings{}) {
			if st.Links == nil {
				st.Links = map[string]LinkSettings{}
			}
			st.Links[name] = s
		}
	}
	if a := e.broker.Approver(); a != nil {
		d := a.Decide(&jitv1.AccessRequest{Id: "r"})
		st.Decision = &d
	}
	return st
}

// shape says whether a forged token is empty, and how many parts it has.
func shape(tok string) string {
	if tok == "" {
		return "empty"
	}
	return strconv.Itoa(strings.Count(tok, ".")+1) + " parts"
}
