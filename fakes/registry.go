package fakes

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Factory builds a configured fault from the params a scenario gives it.
type Factory func(params map[string]any) (Fault, error)

// KindDoc documents a fault kind for `jitbench list --faults`.
type KindDoc struct {
	// Summary says in one line what the fault does.
	Summary string
	// Params lists the params it accepts.
	Params []ParamDoc
	// External says how the kind acts on a user's own service (topology
	// external): "client side: …", "broker: …", "proxy: …", "key source: …",
	// or "refused: …" and why. The harness enforces it; this declares it.
	External string
}

// ParamDoc documents one param of a fault kind.
type ParamDoc struct {
	// Name is the key in the scenario file.
	Name string
	// Type is the value's type as a scenario author writes it, e.g. "duration" or "one of client, service, broker".
	Type string
	// Doc says what it does, and whether it is required or its default.
	Doc string
}

// ErrUnknownKind is returned by New for a kind nobody registered.
var ErrUnknownKind = errors.New("unknown fault kind")

type kindEntry struct {
	factory Factory
	doc     KindDoc
	// holds names what a fault of the kind takes whole while its window is
	// open (the broker's container, say), so two such faults cannot
	// overlap; empty for kinds whose faults add layers that compose.
	holds string
}

// registry maps kind names to factories; kinds register from init, so the
// lock only matters for callers that register late.
var registry = struct {
	sync.RWMutex
	kinds map[string]kindEntry
}{kinds: make(map[string]kindEntry)}

// Register makes kind buildable by New. It panics on an empty name, a nil
// factory or a duplicate: all programming errors, found at init.
func Register(kind string, f Factory) {
	if kind == "" || f == nil {
		panic("fakes: Register needs a kind name and a factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.kinds[kind]; dup {
		panic(fmt.Sprintf("fakes: fault kind %q registered twice", kind))
	}
	registry.kinds[kind] = kindEntry{factory: f}
}

// Document attaches doc to a registered kind; it panics for an unregistered one.
func Document(kind string, doc KindDoc) {
	update("Document", kind, func(e *kindEntry) { e.doc = doc })
}

// update changes the entry of a registered kind; it panics, naming caller,
// for an unregistered one: a programming error, found at init.
func update(caller, kind string, change func(e *kindEntry)) {
	registry.Lock()
	defer registry.Unlock()
	e, ok := registry.kinds[kind]
	if !ok {
		panic(fmt.Sprintf("fakes: %s for unregistered fault kind %q", caller, kind))
	}
	change(&e)
	registry.kinds[kind] = e
}

// register registers one of this package's kinds with its documentation,
// derived from the kind's params struct so docs and decoding cannot drift.
func register(kind, summary string, params any, f Factory) {
	Register(kind, f)
	Document(kind, KindDoc{Summary: summary, Params: paramDocs(params)})
}

// onExternal declares how kind acts on a user's own service (KindDoc.External).
// It panics for an unregistered kind.
func onExternal(kind, how string) {
	update("onExternal", kind, func(e *kindEntry) { e.doc.External = how })
}

// hold marks a registered kind as taking what whole while its window is
// open: two faults that hold the same thing cannot overlap (a paused
// container cannot be killed, a partition cannot be cut twice), where
// layered settings compose. It panics for an unregistered kind.
func hold(kind, what string) {
	update("hold", kind, func(e *kindEntry) { e.holds = what })
}

// Holds names what a fault of kind takes whole while its window is open
// ("the broker's container"): the scenario loader refuses two faults that
// hold the same thing with overlapping windows. It is "" for the kinds whose
// faults compose as layers, and for an unknown kind.
func Holds(kind string) string {
	registry.RLock()
	defer registry.RUnlock()
	return registry.kinds[kind].holds
}

// New builds a fault of kind from params; an unknown kind is ErrUnknownKind
// naming the known ones, bad params a *ParamError naming the key.
func New(kind string, params map[string]any) (Fault, error) {
	registry.RLock()
	e, ok := registry.kinds[kind]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownKind, kind, strings.Join(Kinds(), ", "))
	}
	f, err := e.factory(params)
	if err != nil {
		return nil, fmt.Errorf("fault %s: %w", kind, err)
	}
	return f, nil
}

// Kinds returns every registered kind, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Sorted(maps.Keys(registry.kinds))
}

// Doc returns the documentation of kind; the zero KindDoc for an unknown or undocumented kind.
func Doc(kind string) KindDoc {
	registry.RLock()
	defer registry.RUnlock()
	d := registry.kinds[kind].doc
	d.Params = slices.Clone(d.Params)
	return d
}
