package fakes

import (
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
type Knobs[T any] struct {
	mu sync.RWMutex
	s  T
}

// Settings returns a copy of the current settings.
func (k *Knobs[T]) Settings() T {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.s
}

// Update changes the settings with f and returns a func that restores the
// previous ones. Two faults on one knob restore correctly only when removed
// in the reverse order they were applied: at the end of a run the harness
// removes the last applied first, but a window that closes mid-run restores
// the snapshot taken when it opened.
func (k *Knobs[T]) Update(f func(*T)) (restore func()) {
	k.mu.Lock()
	prev := k.s
	f(&k.s)
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		k.s = prev
		k.mu.Unlock()
	}
}
