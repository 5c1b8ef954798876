package fakes

import (
	"sync"
	"sync/atomic"
)

// Layer is one fault's change to a shared setting: a knob, a clock or a
// link. Layers compose: every fault adds its own, and removing one takes
// off that change only, whatever the order the faults' windows close in.
// A layer also counts how often the system met it, so a run can tell a
// fault that acted from one that changed nothing anyone used.
type Layer struct {
	met    atomic.Int64
	once   sync.Once
	remove func()
}

// newLayer returns a layer whose Remove calls remove once.
func newLayer(remove func()) *Layer { return &Layer{remove: remove} }

// Remove takes the layer off; calling it again does nothing.
func (l *Layer) Remove() { l.once.Do(l.remove) }

// Met counts how often the system met the layer while it was in force: a
// call made with the knob, a read of the clock, a write, a connection or a
// dial on the link.
func (l *Layer) Met() int64 { return l.met.Load() }

// meet counts n encounters.
func (l *Layer) meet(n int64) { l.met.Add(n) }
