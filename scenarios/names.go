package scenarios

import (
	"regexp"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// The closed vocabularies a scenario file may use.
var (
	// Topologies are the values of topology; external is the user's own
	// service, which a target config describes (jitbench run --target).
	Topologies = []string{"inprocess", "tcp", "container", "external"}
	// MeasurementVerdicts are the values of expect.measurements: each
	// figure measured and agreeing with what the target config declares
	// (within its resolution), or only measured.
	MeasurementVerdicts = []string{"agree", "measured"}
	// RevocationModes are the values of service.revocation_mode.
	RevocationModes = []string{"strict", "best_effort"}
	// ApprovalModes are the values of broker.approval.
	ApprovalModes = []string{"auto", "reviewer"}
	// GrantModes are the values of client.grants.
	GrantModes = []string{"broker", "minted", "none"}
)

var (
	kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// fullMethod is "/package.Service/Method", as gRPC names methods on the wire.
	fullMethod = regexp.MustCompile(`^/[A-Za-z_][A-Za-z0-9_.]*/[A-Za-z_][A-Za-z0-9_]*$`)
	// methodPattern is a full method or "/package.Service/*", as policies and grant scopes write them.
	methodPattern = regexp.MustCompile(`^/[A-Za-z_][A-Za-z0-9_.]*/(\*|[A-Za-z_][A-Za-z0-9_]*)$`)
)

// codeNames are the gRPC codes as reason.CodeName spells them, the names the
// harness counts outcomes under, so an expectation can only name a code a
// result can hold.
var codeNames = func() []string {
	var out []string
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		out = append(out, reason.CodeName(c))
	}
	return out
}()

// reasonNames are the reasons of the reference catalog.
var reasonNames = func() []string {
	var out []string
	for _, i := range reason.Catalog() {
		out = append(out, string(i.Reason))
	}
	return out
}()

// isCode reports whether name is a gRPC code name, e.g. PERMISSION_DENIED.
func isCode(name string) bool { return slices.Contains(codeNames, name) }

// isReason reports whether name is in the reason catalog.
func isReason(name string) bool { return slices.Contains(reasonNames, name) }

// isAlgorithm reports whether alg is one the reference can sign or verify with.
func isAlgorithm(alg string) bool { return token.CheckAlgorithm(alg) == nil }

// oneOf words a closed list for messages: "a, b or c".
func oneOf(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}
