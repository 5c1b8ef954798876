package proxy

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Faults is the live, ordered set of a proxy's faults. Every change takes
// effect for calls that start after it; calls read the set without a lock.
// Faults apply in the order they were added, so latencies add up and an
// abort after a metadata rewrite sees the rewritten metadata.
type Faults struct {
	proto Protocol

	mu      sync.Mutex // serialises changes
	entries atomic.Pointer[[]*entry]
}

// entry is one fault in the set.
type entry struct {
	spec  Spec
	match methodMatcher
	fault Fault
}

// NewFaults returns an empty set for a proxy of protocol proto.
func NewFaults(proto Protocol) *Faults {
	f := &Faults{proto: proto}
	f.entries.Store(&[]*entry{})
	return f
}

// Protocol is the protocol of the set's proxy.
func (f *Faults) Protocol() Protocol { return f.proto }

func (f *Faults) snapshot() []*entry { return *f.entries.Load() }

func newEntry(s Spec, proto Protocol) (*entry, error) {
	fault, spec, err := build(s, proto)
	if err != nil {
		return nil, err
	}
	return &entry{spec: spec, match: methodMatcher(spec.Methods), fault: fault}, nil
}

// Add checks s and appends it; it returns the spec as stored (defaults
// filled in). A bad spec is a *FieldError; a taken name wraps ErrExists.
func (f *Faults) Add(s Spec) (Spec, error) {
	e, err := newEntry(s, f.proto)
	if err != nil {
		return Spec{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.snapshot()
	if slices.ContainsFunc(cur, func(x *entry) bool { return x.spec.Name == e.spec.Name }) {
		release(e.fault)
		return Spec{}, &FieldError{Field: "name", Msg: "a fault named " + quote(e.spec.Name) + " exists: update it, remove it, or give another name", Err: ErrExists}
	}
	next := append(slices.Clip(cur), e)
	f.entries.Store(&next)
	return e.spec, nil
}

// Update replaces the fault named s.Name with s, keeping its place in the
// order; calls held by the old fault (a blackhole) are let go. A name no
// fault has wraps ErrNotFound; a bad spec is a *FieldError and changes nothing.
func (f *Faults) Update(s Spec) (Spec, error) {
	if s.Name == "" {
		return Spec{}, fieldErr("name", "missing: Update needs the name of the fault to replace")
	}
	e, err := newEntry(s, f.proto)
	if err != nil {
		return Spec{}, err
	}
	f.mu.Lock()
	cur := f.snapshot()
	i := slices.IndexFunc(cur, func(x *entry) bool { return x.spec.Name == s.Name })
	if i < 0 {
		f.mu.Unlock()
		release(e.fault)
		return Spec{}, &FieldError{Field: "name", Msg: "no fault named " + quote(s.Name), Err: ErrNotFound}
	}
	next := slices.Clone(cur)
	old := next[i]
	next[i] = e
	f.entries.Store(&next)
	f.mu.Unlock()
	release(old.fault)
	return e.spec, nil
}

// Remove takes the fault named name out of the set, letting go the calls
// it holds; a name no fault has wraps ErrNotFound.
func (f *Faults) Remove(name string) error {
	f.mu.Lock()
	cur := f.snapshot()
	i := slices.IndexFunc(cur, func(x *entry) bool { return x.spec.Name == name })
	if i < 0 {
		f.mu.Unlock()
		return &FieldError{Field: "name", Msg: "no fault named " + quote(name), Err: ErrNotFound}
	}
	old := cur[i]
	next := slices.Delete(slices.Clone(cur), i, i+1)
	f.entries.Store(&next)
	f.mu.Unlock()
	release(old.fault)
	return nil
}

// Clear removes every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	cur := f.snapshot()
	f.entries.Store(&[]*entry{})
	f.mu.Unlock()
	for _, e := range cur {
		release(e.fault)
	}
}

// Get returns the spec of the fault named name.
func (f *Faults) Get(name string) (Spec, bool) {
	for _, e := range f.snapshot() {
		if e.spec.Name == name {
			return cloneSpec(e.spec), true
		}
	}
	return Spec{}, false
}

// List returns the specs of every fault, in the order they apply.
func (f *Faults) List() []Spec {
	cur := f.snapshot()
	out := make([]Spec, len(cur))
	for i, e := range cur {
		out[i] = cloneSpec(e.spec)
	}
	return out
}

func cloneSpec(s Spec) Spec {
	out := s
	out.Methods = slices.Clone(s.Methods)
	out.Params = Params{}
	for k, v := range s.Params {
		out.Params[k] = v
	}
	if s.Probability != nil {
		out.Probability = Chance(*s.Probability)
	}
	return out
}

func release(f Fault) {
	if r, ok := f.(Releaser); ok {
		r.Release()
	}
}

func quote(s string) string { return `"` + s + `"` }
