package proxy

import (
	"context"
	"time"
)

// bandwidth paces each message of a call as if its bytes crossed a link
// of the given rate, each direction on its own.
type bandwidth struct {
	rate int64 // bytes per second
}

func init() {
	Register(Kind{
		Name:    "bandwidth",
		Summary: "cap each call's throughput: every message waits size ÷ rate before it is forwarded, in each direction",
		Params: []ParamDoc{
			{"rate", "bytes per second", "the cap, such as 65536, 64KiB or 1MB (required)"},
		},
		Protocols: GRPC,
		New:       newBandwidth,
	})
}

func newBandwidth(p Params, _ Protocol) (Fault, error) {
	if !p.Has("rate") {
		return nil, paramErr("rate", "required: bytes per second, such as 64KiB")
	}
	rate, err := p.Bytes("rate", 0)
	if err != nil {
		return nil, err
	}
	return &bandwidth{rate: rate}, nil
}

func (f *bandwidth) Apply(_ context.Context, c *Call) error {
	c.Note("rate", f.rate)
	c.OnMessage(func(ctx context.Context, _ Direction, size int) error {
		return c.Sleep(ctx, f.wait(size))
	})
	return nil
}

// wait is how long size bytes take at the fault's rate.
func (f *bandwidth) wait(size int) time.Duration {
	// size < 2^31 and rate ≥ 1: the product fits in an int64 up to ~4e9 s.
	return time.Duration(int64(size) * int64(time.Second) / f.rate)
}
