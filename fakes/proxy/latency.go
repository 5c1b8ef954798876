package proxy

import (
	"context"
	"time"
)

// latency delays calls, or each of their messages, by delay ± jitter.
type latency struct {
	delay, jitter time.Duration
	perMessage    bool
}

func init() {
	Register(Kind{
		Name:    "latency",
		Summary: "delay each call (or each message) by delay ± jitter, drawn from the seeded source",
		Params: []ParamDoc{
			{"delay", "duration", "how long to delay, such as 100ms (required)"},
			{"jitter", "duration", "add a delay drawn uniformly from [-jitter, +jitter] (default 0); the total never goes below 0"},
			{"per", "one of call, message", "call (default): delay the call once before it reaches the upstream; message: delay every message, both ways (gRPC only)"},
		},
		Protocols: GRPC | HTTP,
		New:       newLatency,
	})
}

func newLatency(p Params, proto Protocol) (Fault, error) {
	if !p.Has("delay") {
		return nil, paramErr("delay", "required: how long to delay, such as 100ms")
	}
	f := &latency{}
	var err error
	if f.delay, err = p.Duration("delay", 0); err != nil {
		return nil, err
	}
	if f.jitter, err = p.Duration("jitter", 0); err != nil {
		return nil, err
	}
	per, err := p.Enum("per", "call", "call", "message")
	if err != nil {
		return nil, err
	}
	if per == "message" && proto == HTTP {
		return nil, paramErr("per", "message applies to gRPC streams only; an HTTP proxy delays the call")
	}
	f.perMessage = per == "message"
	return f, nil
}

// draw returns the delay of one call or message.
func (f *latency) draw(c *Call) time.Duration {
	d := f.delay
	if f.jitter > 0 {
		d += time.Duration(c.Int64N(2*int64(f.jitter)+1)) - f.jitter
	}
	return max(d, 0)
}

func (f *latency) Apply(ctx context.Context, c *Call) error {
	if f.perMessage {
		c.OnMessage(func(ctx context.Context, _ Direction, _ int) error { return c.Sleep(ctx, f.draw(c)) })
		c.Note("per", "message")
		return nil
	}
	d := f.draw(c)
	c.Note("delay", d.String())
	return c.Sleep(ctx, d)
}
