package measure

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
)

// poller repeats a probe every interval, on clock, until it decides or the bound passes.
type poller struct {
	clock    clockwork.Clock
	interval time.Duration
	bound    time.Duration
}

// until probes at once and then every interval (measured from one probe's
// start to the next, so slow answers do not stretch the cadence) until try
// reports done. It returns the time from start to the start of the deciding
// probe, to the millisecond, or the bound and false when the bound passed first.
func (p poller) until(ctx context.Context, start time.Time, try func(context.Context) (bool, error)) (time.Duration, bool, error) {
	for {
		began := p.clock.Now()
		at := began.Sub(start)
		if at > p.bound {
			return p.bound, false, nil
		}
		done, err := try(ctx)
		if err != nil {
			return 0, false, err
		}
		if done {
			return at.Round(time.Millisecond), true, nil
		}
		wait := p.interval - p.clock.Since(began)
		if wait <= 0 {
			continue
		}
		select {
		case <-p.clock.After(wait):
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}
