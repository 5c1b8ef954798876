package proxy

import (
	"context"
	"time"
)

// deadlineRewrite shortens the deadline the upstream sees (its
// grpc-timeout), so a service's own calls run short of time as they would
// behind a slow hop.
type deadlineRewrite struct {
	timeout time.Duration // 0: not set
	factor  float64       // 0: not set
}

func init() {
	Register(Kind{
		Name:    "deadline",
		Summary: "shorten the deadline (grpc-timeout) the upstream sees: at most timeout, or factor × the time the client has left",
		Params: []ParamDoc{
			{"timeout", "duration", "the upstream gets at most this long, such as 50ms; a call without a deadline gets one"},
			{"factor", "number in (0, 1]", "the upstream gets this share of the time the client has left; calls without a deadline are left alone"},
		},
		Protocols: GRPC,
		New:       newDeadlineRewrite,
	})
}

func newDeadlineRewrite(p Params, _ Protocol) (Fault, error) {
	if !p.Has("timeout") && !p.Has("factor") {
		return nil, paramErr("timeout", "give timeout, factor or both: how much time the upstream gets")
	}
	f := &deadlineRewrite{}
	var err error
	if f.timeout, err = p.Duration("timeout", 0); err != nil {
		return nil, err
	}
	if p.Has("timeout") && f.timeout == 0 {
		return nil, paramErr("timeout", "must be positive: a zero deadline fails every call before it starts (use abort with DEADLINE_EXCEEDED for that)")
	}
	if f.factor, err = p.Float("factor", 0); err != nil {
		return nil, err
	}
	if p.Has("factor") && (f.factor <= 0 || f.factor > 1) {
		return nil, paramErr("factor", "must be above 0 and at most 1, got %s", p["factor"])
	}
	return f, nil
}

func (f *deadlineRewrite) Apply(_ context.Context, c *Call) error {
	// Deadlines travel as real time on the wire, so they are computed on the real clock.
	// The factor scales the client's own time, before timeout caps it.
	now := time.Now()
	if dl, ok := c.Deadline(); ok && f.factor > 0 {
		c.ShortenDeadline(now.Add(time.Duration(float64(dl.Sub(now)) * f.factor)))
	}
	if f.timeout > 0 {
		c.ShortenDeadline(now.Add(f.timeout))
	}
	if dl, ok := c.Deadline(); ok {
		c.Note("upstream_timeout", time.Until(dl).Round(time.Microsecond).String())
	}
	return nil
}
