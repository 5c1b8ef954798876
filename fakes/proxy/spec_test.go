package proxy_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/proxy"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    proxy.Spec
		wantErr string
	}{
		{"reset", proxy.Spec{Kind: "reset"}, ""},
		{"abort:code=PERMISSION_DENIED,methods=/pkg.S/*,p=0.5",
			proxy.Spec{Kind: "abort", Methods: []string{"/pkg.S/*"}, Probability: proxy.Chance(0.5), Params: proxy.Params{"code": "PERMISSION_DENIED"}}, ""},
		{`abort:name=deny,code=7,message="a, \"quoted\" b",methods=/a/B|/c/*`,
			proxy.Spec{Name: "deny", Kind: "abort", Methods: []string{"/a/B", "/c/*"}, Params: proxy.Params{"code": "7", "message": `a, "quoted" b`}}, ""},
		{"metadata:action=replace,value=", proxy.Spec{Kind: "metadata", Params: proxy.Params{"action": "replace", "value": ""}}, ""},
		{"latency:probability=1,delay=1s", proxy.Spec{Kind: "latency", Probability: proxy.Chance(1), Params: proxy.Params{"delay": "1s"}}, ""},
		{"", proxy.Spec{}, "kind: missing"},
		{":delay=1s", proxy.Spec{}, "kind: missing"},
		{"latency delay=1s", proxy.Spec{}, `kind: "latency delay=1s" is not a kind`},
		{"latency:delay", proxy.Spec{}, "delay: has no value"},
		{"latency:delay,jitter=1s", proxy.Spec{}, "delay: has no value"},
		{"latency:delay=1s,", proxy.Spec{}, "spec: ends with a comma"},
		{"latency:=1s", proxy.Spec{}, "spec: a KEY=VALUE pair has no key"},
		{"latency:delay=1s,delay=2s", proxy.Spec{}, "params.delay: given twice"},
		{"abort:p=1,probability=1", proxy.Spec{}, "probability: given twice"},
		{"abort:p=half", proxy.Spec{}, `probability: want a number between 0 and 1, got "half"`},
		{`abort:message="open`, proxy.Spec{}, "params.message: has an unterminated or bad quoted value"},
		{`abort:message="a"b`, proxy.Spec{}, "params.message: the quoted value must be followed by a comma"},
		{"abort:kind=reset", proxy.Spec{}, "kind: goes before the colon"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := proxy.ParseSpec(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				var fe *proxy.FieldError
				assert.True(t, errors.As(err, &fe))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			back, err := proxy.ParseSpec(got.String())
			require.NoError(t, err, "String %q", got.String())
			assert.Equal(t, normalizeProb(got), normalizeProb(back), "String round trip %q", got.String())
		})
	}
}

// normalizeProb treats a nil probability and 1 alike, as String does.
func normalizeProb(s proxy.Spec) proxy.Spec {
	if s.Probability != nil && *s.Probability == 1 {
		s.Probability = nil
	}
	return s
}

// TestCheck refuses bad specs with the field at fault, for each protocol.
func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec      string
		proto     proxy.Protocol
		wantField string
		wantMsg   string
	}{
		{"latncy:delay=1s", proxy.GRPC, "kind", `unknown fault kind "latncy" (did you mean "latency"?)`},
		{"latency", proxy.GRPC, "params.delay", "required"},
		{"latency:delay=soon", proxy.GRPC, "params.delay", `bad duration "soon"`},
		{"latency:delay=-1s", proxy.GRPC, "params.delay", "must not be negative"},
		{"latency:delay=1s,per=stream", proxy.GRPC, "params.per", "want one of call, message"},
		{"latency:delay=1s,per=message", proxy.HTTP, "params.per", "gRPC streams only"},
		{"latency:delay=1s,dealy=2s", proxy.GRPC, "params.dealy", `unknown param of latency (did you mean "delay"?)`},
		{"reset:x=1", proxy.GRPC, "params.x", "it takes none"},
		{"abort", proxy.GRPC, "params.code", "required"},
		{"abort:code=permission_denied", proxy.GRPC, "params.code", "unknown gRPC code"},
		{"abort:code=OK", proxy.GRPC, "params.code", "OK is not an error"},
		{"abort:code=17", proxy.GRPC, "params.code", "unknown gRPC code"},
		{"abort:code=7,http_status=403", proxy.GRPC, "params.http_status", "HTTP proxy only"},
		{"abort", proxy.HTTP, "params.http_status", "required"},
		{"abort:http_status=99", proxy.HTTP, "params.http_status", "from 200 to 599"},
		{"abort:code=7,p=1.5", proxy.GRPC, "probability", "between 0 and 1, got 1.5"},
		{"abort:code=7,p=-0.1", proxy.GRPC, "probability", "between 0 and 1"},
		{"abort:code=7,p=NaN", proxy.GRPC, "probability", "between 0 and 1"},
		{"abort:code=7,methods=pkg.S/M", proxy.GRPC, "methods", "starts with /"},
		{"abort:code=7,methods=/a|", proxy.GRPC, "methods", "empty pattern"},
		{"abort:code=7,name=has space", proxy.GRPC, "name", "is not a name"},
		{"abort:code=7,name=a/b", proxy.GRPC, "name", "is not a name"},
		{"metadata", proxy.GRPC, "params.action", "required"},
		{"metadata:action=replace", proxy.GRPC, "params.value", "required with action=replace"},
		{"metadata:action=drop,value=x", proxy.GRPC, "params.value", "only used with action=replace"},
		{"metadata:action=drop,header=Authorization", proxy.GRPC, "params.header", "lower-case"},
		{"metadata:action=drop,header=x-bin", proxy.GRPC, "params.header", "binary"},
		{"deadline", proxy.GRPC, "params.timeout", "give timeout, factor or both"},
		{"deadline:timeout=0s", proxy.GRPC, "params.timeout", "must be positive"},
		{"deadline:factor=1.5", proxy.GRPC, "params.factor", "above 0 and at most 1"},
		{"deadline:factor=x", proxy.GRPC, "params.factor", "want a number"},
		{"deadline:timeout=1s", proxy.HTTP, "kind", "deadline does not apply to an http proxy"},
		{"bandwidth", proxy.GRPC, "params.rate", "required"},
		{"bandwidth:rate=0", proxy.GRPC, "params.rate", "positive whole number"},
		{"bandwidth:rate=1.5KB", proxy.GRPC, "params.rate", "positive whole number"},
		{"bandwidth:rate=99999999999GiB", proxy.GRPC, "params.rate", "positive whole number"},
		{"bandwidth:rate=1KiB", proxy.HTTP, "kind", "does not apply to an http proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.proto.String(), func(t *testing.T) {
			s, err := proxy.ParseSpec(tt.spec)
			require.NoError(t, err)
			_, err = proxy.Check(s, tt.proto)
			var fe *proxy.FieldError
			require.True(t, errors.As(err, &fe), "err %v", err)
			assert.Equal(t, tt.wantField, fe.Field)
			assert.Contains(t, fe.Msg, tt.wantMsg)
		})
	}
}

// TestCheckFillsDefaults names a fault after its kind and makes its probability 1.
func TestCheckFillsDefaults(t *testing.T) {
	t.Parallel()
	s, err := proxy.Check(proxy.Spec{Kind: "bandwidth", Params: proxy.Params{"rate": "64KiB"}}, proxy.GRPC)
	require.NoError(t, err)
	assert.Equal(t, "bandwidth", s.Name)
	require.NotNil(t, s.Probability)
	assert.Equal(t, 1.0, *s.Probability)
}

// TestFaultsSet adds, updates and removes by name; refusals change nothing.
func TestFaultsSet(t *testing.T) {
	t.Parallel()
	f := proxy.NewFaults(proxy.GRPC)
	_, err := f.Add(proxy.Spec{Kind: "latency", Params: proxy.Params{"delay": "1s"}})
	require.NoError(t, err)
	_, err = f.Add(proxy.Spec{Name: "deny", Kind: "abort", Params: proxy.Params{"code": "7"}})
	require.NoError(t, err)

	_, err = f.Add(proxy.Spec{Kind: "latency", Params: proxy.Params{"delay": "2s"}})
	assert.ErrorIs(t, err, proxy.ErrExists)
	_, err = f.Update(proxy.Spec{Name: "latency", Kind: "latency", Params: proxy.Params{"delay": "bad"}})
	assert.Error(t, err)
	_, err = f.Update(proxy.Spec{Name: "nope", Kind: "reset"})
	assert.ErrorIs(t, err, proxy.ErrNotFound)
	assert.ErrorIs(t, f.Remove("nope"), proxy.ErrNotFound)
	require.Len(t, f.List(), 2)
	assert.Equal(t, "1s", f.List()[0].Params["delay"], "refusals changed nothing")

	up, err := f.Update(proxy.Spec{Name: "latency", Kind: "latency", Params: proxy.Params{"delay": "3s"}})
	require.NoError(t, err)
	assert.Equal(t, "3s", up.Params["delay"])
	assert.Equal(t, []string{"latency", "deny"}, names(f.List()), "an update keeps the order")
	require.NoError(t, f.Remove("latency"))
	assert.Equal(t, []string{"deny"}, names(f.List()))
	got, ok := f.Get("deny")
	require.True(t, ok)
	got.Params["code"] = "8" // a copy: the set is not changed through it
	again, _ := f.Get("deny")
	assert.Equal(t, "7", again.Params["code"])
	f.Clear()
	assert.Empty(t, f.List())
}

func names(specs []proxy.Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// FuzzParseSpec checks that no input panics ParseSpec or Check, and that
// every spec ParseSpec reads is written back by String to the same spec.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"abort:code=PERMISSION_DENIED,methods=/pkg.S/*,p=0.5",
		`abort:message="a, \"b\"",code=7`,
		"latency:delay=100ms,jitter=5ms,per=message",
		"metadata:action=corrupt,header=x-jit-grant",
		"deadline:timeout=50ms,factor=0.5",
		"bandwidth:rate=64KiB",
		"reset:name=r,methods=/a/*|/b/*",
		"blackhole:p=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := proxy.ParseSpec(in)
		if err != nil {
			return
		}
		_, _ = proxy.Check(s, proxy.GRPC)
		_, _ = proxy.Check(s, proxy.HTTP)
		back, err := proxy.ParseSpec(s.String())
		if err != nil {
			t.Fatalf("String %q of %q does not parse: %v", s.String(), in, err)
		}
		if s.String() != back.String() {
			t.Fatalf("round trip of %q: %q then %q", in, s.String(), back.String())
		}
	})
}
