package proxy

import (
	"context"
	"sync"
)

// blackhole accepts calls and never answers them, until the caller gives
// up or the fault is removed (then held calls go on to the upstream).
type blackhole struct {
	once     sync.Once
	released chan struct{}
}

func init() {
	Register(Kind{
		Name:      "blackhole",
		Summary:   "accept the call and never answer: it hangs until the client's deadline or until the fault is removed",
		Protocols: GRPC | HTTP,
		New: func(Params, Protocol) (Fault, error) {
			return &blackhole{released: make(chan struct{})}, nil
		},
	})
}

func (f *blackhole) Apply(ctx context.Context, c *Call) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.released:
		c.Note("released", true)
		return nil
	}
}

// Release lets every held call go on.
func (f *blackhole) Release() { f.once.Do(func() { close(f.released) }) }
