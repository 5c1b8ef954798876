package fakes

// StaticFunc adapts a function to a Fault that is also Static: it shapes how
// the system is built, so the harness applies it before the start.
type StaticFunc func(env Env) (func(), error)

// Apply calls f.
func (f StaticFunc) Apply(env Env) (func(), error) { return f(env) }

// Static reports true: the fault can only exist from the start.
func (StaticFunc) Static() bool { return true }

var (
	_ Fault  = StaticFunc(nil)
	_ Static = StaticFunc(nil)
)

// noop is the remove func of faults whose effect is done once applied (a
// revocation cannot be taken back).
func noop() {}
