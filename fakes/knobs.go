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
type ClientKnobs struct {
	mu sync.RWMutex
	s  ClientSettings
}

// Settings returns a copy of the current settings.
func (k *ClientKnobs) Settings() ClientSettings {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.s
}

// Update changes the settings with f and returns a func that restores the previous ones.
func (k *ClientKnobs) Update(f func(*ClientSettings)) (restore func()) {
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
type ServiceKnobs struct {
	mu sync.RWMutex
	s  ServiceSettings
}

// Settings returns a copy of the current settings.
func (k *ServiceKnobs) Settings() ServiceSettings {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.s
}

// Update changes the settings with f and returns a func that restores the previous ones.
func (k *ServiceKnobs) Update(f func(*ServiceSettings)) (restore func()) {
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
