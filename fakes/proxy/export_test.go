package proxy

// RecordCallForTest counts one call of method, as a proxy does when a call arrives.
func RecordCallForTest(m *Metrics, method string) { m.seen(method) }

// ContentSubtypeForTest is contentSubtype.
var ContentSubtypeForTest = contentSubtype

// MatchesForTest reports whether the first fault of f applies to method.
func MatchesForTest(f *Faults, method string) bool { return f.snapshot()[0].match.match(method) }
