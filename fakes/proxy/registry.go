package proxy

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Kind is a fault kind: how to build a Fault from a spec's params, and its
// documentation for --help and the control API's /kinds.
type Kind struct {
	// Name is how specs name the kind: "latency", "abort".
	Name string
	// Summary says in one line what the fault does.
	Summary string
	// Params documents every param the kind reads; others are refused before New runs.
	Params []ParamDoc
	// Protocols are the proxies the kind applies to (GRPC, HTTP or both).
	Protocols Protocol
	// New builds the fault from its params for a proxy of protocol proto; a
	// bad param is a *FieldError naming it.
	New func(p Params, proto Protocol) (Fault, error)
}

// ParamDoc documents one param of a kind.
type ParamDoc struct {
	// Name is the param's key.
	Name string `json:"name"`
	// Type is its value as a user writes it: "duration", "one of drop, replace, corrupt".
	Type string `json:"type"`
	// Doc says what it does and its default.
	Doc string `json:"doc"`
}

var kinds = struct {
	sync.RWMutex
	m map[string]Kind
}{m: make(map[string]Kind)}

// Register makes a kind available to specs by its name. It panics on an
// empty name, a nil New, no protocol or a duplicate: programming errors
// found at init.
func Register(k Kind) {
	if k.Name == "" || k.New == nil || k.Protocols == 0 {
		panic("proxy: Register needs a name, a protocol and a New func")
	}
	kinds.Lock()
	defer kinds.Unlock()
	if _, dup := kinds.m[k.Name]; dup {
		panic(fmt.Sprintf("proxy: fault kind %q registered twice", k.Name))
	}
	kinds.m[k.Name] = k
}

// Kinds returns every registered kind, sorted by name.
func Kinds() []Kind {
	kinds.RLock()
	defer kinds.RUnlock()
	out := make([]Kind, 0, len(kinds.m))
	for _, name := range slices.Sorted(maps.Keys(kinds.m)) {
		out = append(out, kinds.m[name])
	}
	return out
}

// KindNames returns the registered kinds' names, sorted.
func KindNames() []string {
	kinds.RLock()
	defer kinds.RUnlock()
	return slices.Sorted(maps.Keys(kinds.m))
}

func lookupKind(name string) (Kind, bool) {
	kinds.RLock()
	defer kinds.RUnlock()
	k, ok := kinds.m[name]
	return k, ok
}
