package fakes

import (
	"slices"
	"sync"
	"time"
)

// ClientSettings is how the harness's caller behaves for the next call.
type ClientSettings struct {
	// OmitIdentity and OmitGrant leave a credential off the call (credentials not attached).
	OmitIdentity, OmitGrant bool
	// OmitOnStreams leaves both credentials off streaming calls only (middleware that does not propagate them).
	OmitOnStreams bool
	// Deadline replaces the scenario's per-call deadline when positive.
	Deadline time.Duration
	// Retries is how many times a failed call is retried; ExtendDeadlineOnRetry gives each retry a fresh deadline
	// (otherwise every retry shares the first call's deadline, the seed articles' bug).
	Retries               int
	ExtendDeadlineOnRetry bool
	// Mutate rewrites a credential before it is sent: credential is "identity" or "grant". Nil sends it unchanged.
	Mutate func(credential, token string) string
	// IdentityHeader, when set, gives the authorization header values to send for the identity token
	// (after Mutate) instead of the one "Bearer <token>": a wrong scheme, or several values (ID-002, ID-003).
	IdentityHeader func(token string) []string
	// Method replaces the scenario's method when set (a streaming List, say).
	Method string
	// Stream sends the call to the service's streaming method instead (the
	// reference Vault's List, or a target config's stream method) when Method is unset.
	Stream bool
}

// ClientKnobs holds the caller's settings; faults change them while calls run.
type ClientKnobs = Knobs[ClientSettings]

// ServiceSettings shape how the protected service is built: static faults set them before it starts.
type ServiceSettings struct {
	// Algorithms replaces the verifier's pinned list (a verifier with the wrong algorithm list).
	Algorithms []string
	// WrongGrantKeys makes the verifier trust keys the broker never signs with.
	WrongGrantKeys bool
	// NoStreamInterceptor builds the server without its stream interceptor.
	NoStreamInterceptor bool
	// Leeway replaces the verifier's clock-skew tolerance when positive.
	Leeway time.Duration
}

// ServiceKnobs holds the service's build settings.
type ServiceKnobs = Knobs[ServiceSettings]

// Knobs holds settings of type T that faults change while calls run.
//
// Each fault's change is a layer of its own: the settings in force are the
// zero T with every layer's change applied in the order they were added,
// and removing a layer recomputes them from the ones left. So two faults on
// one knob undo cleanly whatever order their windows close in, as skews on
// a clock and settings on a link do. A change must therefore depend only on
// the settings it is given (it is run again whenever a layer comes or goes).
type Knobs[T any] struct {
	mu     sync.RWMutex
	s      T // the layers applied, recomputed on every change
	layers []*knobLayer[T]
}

// knobLayer is one fault's change.
type knobLayer[T any] struct {
	change func(*T)
	*Layer
}

// Settings returns a copy of the current settings.
func (k *Knobs[T]) Settings() T {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.s
}

// Use returns the current settings for one use (a call made with them, a
// service built from them) and counts that use on every layer in force.
func (k *Knobs[T]) Use() T {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, l := range k.layers {
		l.meet(1)
	}
	return k.s
}

// Add applies change as a layer of its own and returns it: Remove takes
// that change off and leaves every other layer in force.
func (k *Knobs[T]) Add(change func(*T)) *Layer {
	kl := &knobLayer[T]{change: change}
	kl.Layer = newLayer(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if i := slices.Index(k.layers, kl); i >= 0 {
			k.layers = slices.Delete(k.layers, i, i+1)
			k.recomputeLocked()
		}
	})
	k.mu.Lock()
	defer k.mu.Unlock()
	k.layers = append(k.layers, kl)
	k.recomputeLocked()
	return kl.Layer
}

// Update applies change as a layer of its own and returns the func that
// removes it (Add(change).Remove).
func (k *Knobs[T]) Update(change func(*T)) (restore func()) {
	return k.Add(change).Remove
}

// recomputeLocked applies the layers, oldest first, to the zero settings.
func (k *Knobs[T]) recomputeLocked() {
	var s T
	for _, l := range k.layers {
		l.change(&s)
	}
	k.s = s
}
