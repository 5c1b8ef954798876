package zoo

import (
	"maps"
	"slices"
)

// catches is the table behind Catches.
var catches = map[Bug][]string{
	AlgNone:                  {"ALG-001"},
	NoSignatureCheck:         {"SIG-001", "SIG-002", "SIG-003"},
	HS256PublicKey:           {"ALG-002"},
	AlgNotPinned:             {"ALG-003"},
	PsychicSignature:         {"SIG-004"},
	NoExpCheck:               {"CLM-001", "CLM-002"},
	NoAudCheck:               {"CLM-006"},
	NoIssCheck:               {"CLM-005"},
	HugeLeeway:               {"SKW-002", "SKW-003"},
	NoMaxLifetime:            {"CLM-004"},
	NoSubjectBinding:         {"CLM-007"},
	NoStreamInterceptor:      {"SCP-004"},
	ScopeIgnored:             {"SCP-001"},
	ScopeLookAlike:           {"SCP-005"},
	ResourceIgnored:          {"SCP-002"},
	OnceIgnored:              {"CLM-008"},
	TypIgnored:               {"CLM-010"},
	CaseInsensitiveClaims:    {"FMT-006"},
	DuplicateKeys:            {"FMT-006"},
	TimeOverflow:             {"CLM-009"},
	EmbeddedJWK:              {"KEY-001"},
	JKUFetched:               {"KEY-002"},
	UnknownKidFallback:       {"KEY-003"},
	KidPathTraversal:         {"KEY-005"},
	TokenEcho:                {"SIG-002", "CLM-005", "CLM-006"},
	PanicOnMalformed:         {"FMT-001"},
	NoSizeLimit:              {"FMT-005"},
	IdentityPermissionDenied: {"ID-001", "ID-002", "ID-003", "ID-004"},
}

// Catches returns, for every bug, the catalog case ids each of which must
// catch it on every kind the bug applies to: a conformance run against the
// buggy build fails each of these cases (at least one of its variants).
// Other cases may fail too (a bug that ignores exp also lets SKW-002
// through); they are not promised. The map is a fresh copy.
func Catches() map[Bug][]string {
	out := make(map[Bug][]string, len(catches))
	for b, ids := range maps.All(catches) {
		out[b] = slices.Clone(ids)
	}
	return out
}
