package diagnosis

import (
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
)

// Fault kinds a diagnosis reads (the names of package fakes and of the
// scenario files; written out here so this package stays free of fakes).
const (
	kindGRPCFault       = "grpc-fault"
	kindNetwork         = "network"
	kindNetworkLatency  = "network-latency"
	kindPartition       = "network-partition"
	kindContainerKill   = "container-kill"
	kindContainerPause  = "container-pause"
	kindKeySourceOutage = "key-source-outage"
	kindBrokerDown      = "broker-down"
	kindBrokerRestart   = "broker-restart"
	kindTokenMutation   = "token-mutation"
	kindClockSkew       = "clock-skew"
	kindApproval        = "approval"
	kindShortDeadline   = "short-deadline"
	kindRetry           = "retry-without-deadline-extension"
	kindCredsMissing    = "credentials-missing"
	kindNotPropagated   = "tokens-not-propagated"
	kindVerifierKey     = "verifier-wrong-key"
	kindKeyRotation     = "key-rotation"
	kindVerifierAlgs    = "verifier-algorithms"
	kindRevoke          = "revoke"
)

// fault is a Fault in force with what it does read from its kind and words.
type fault struct {
	Fault
	words string // kind and What, lower case
}

func newFault(f Fault) fault {
	return fault{Fault: f, words: strings.ToLower(f.Kind + " " + f.What)}
}

// describe names the fault for a summary: "grpc-fault: aborted /x.Y/Z with UNAVAILABLE".
func (f fault) describe() string {
	if what := oneLine(f.What); what != "" {
		return f.Kind + ": " + cut(what, 160)
	}
	return f.Kind
}

func (f fault) says(words ...string) bool {
	for _, w := range words {
		if strings.Contains(f.words, w) {
			return true
		}
	}
	return false
}

// link is the network path the fault names: "client-broker", "service-broker" or "" (the client's calls to the service).
func (f fault) link() string {
	for _, l := range []string{"client-broker", "service-broker"} {
		if strings.Contains(f.words, l) {
			return l
		}
	}
	return ""
}

// networkish reports whether the fault acts on a network path or the proxy.
func (f fault) networkish() bool {
	return f.Kind == kindGRPCFault || strings.HasPrefix(f.Kind, "network")
}

// aborts reports whether the fault ends calls with a status, and which (OK: not told).
func (f fault) aborts() (codes.Code, bool) {
	if f.Code != codes.OK {
		return f.Code, true
	}
	if f.Kind != kindGRPCFault && !strings.Contains(f.Kind, "abort") || !f.says("abort") {
		return codes.OK, false
	}
	return codeIn(f.What), true
}

// cuts reports whether the fault cuts the client's calls to the service: resets, blackholes, partitions, a killed or paused container.
func (f fault) cuts() bool {
	if f.link() != "" {
		return false
	}
	switch f.Kind {
	case kindPartition, kindContainerKill, kindContainerPause:
		return true
	}
	return f.networkish() && f.says("reset", "blackhole", "partition", "refuse", "drop", "close")
}

// slows reports whether the fault delays the client's calls to the service: latency, jitter, a bandwidth cap, a blackhole.
func (f fault) slows() bool {
	if f.link() == "client-broker" || f.link() == "service-broker" {
		return false
	}
	switch f.Kind {
	case kindNetworkLatency, kindPartition, kindContainerPause:
		return true
	}
	return f.networkish() && f.says("latency", "delay", "jitter", "bandwidth", "blackhole", "slow")
}

// cutsKeys reports whether the fault takes the service's key source away.
func (f fault) cutsKeys() bool {
	switch f.Kind {
	case kindKeySourceOutage, kindBrokerDown, kindBrokerRestart:
		return true
	}
	return f.says("key source", "key-source", "jwks") ||
		f.link() == "service-broker" && f.networkish() && f.says("reset", "blackhole", "partition")
}

// cutsBroker reports whether the fault takes the broker away from the client.
func (f fault) cutsBroker() bool {
	switch f.Kind {
	case kindBrokerDown, kindBrokerRestart:
		return true
	}
	return f.link() == "client-broker"
}

// codeNames matches a gRPC code name in a fault's words, longest names first.
var codeNames = func() *regexp.Regexp {
	var names []string
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		names = append(names, reason.CodeName(c))
	}
	return regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\b|\bcode=(\d{1,2})\b`)
}()

// codeIn finds the status code a fault's words name, or OK.
func codeIn(what string) codes.Code {
	m := codeNames.FindStringSubmatch(what)
	if m == nil {
		return codes.OK
	}
	if m[2] != "" {
		n, _ := strconv.Atoi(m[2])
		if n > 0 && n <= int(codes.Unauthenticated) {
			return codes.Code(n)
		}
		return codes.OK
	}
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		if reason.CodeName(c) == m[1] {
			return c
		}
	}
	return codes.OK
}
