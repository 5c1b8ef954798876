package proxy

import (
	"context"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// The request headers that ask for a fault on one call, as Envoy's fault
// filter and gRFC A33 name them. With Options.HeaderFaults the proxy acts
// on them and strips every x-envoy-fault-* header before the call goes
// upstream; without it they pass through untouched.
const (
	// HeaderAbortGRPC aborts the call with this gRPC status code (a number).
	HeaderAbortGRPC = "x-envoy-fault-abort-grpc-request"
	// HeaderAbortHTTP aborts the call with this HTTP status (gRPC: mapped to a code).
	HeaderAbortHTTP = "x-envoy-fault-abort-request"
	// HeaderAbortPercentage is the chance, 0 to 100, that the abort applies (default 100).
	HeaderAbortPercentage = "x-envoy-fault-abort-request-percentage"
	// HeaderDelay delays the call by this many milliseconds.
	HeaderDelay = "x-envoy-fault-delay-request"
	// HeaderDelayPercentage is the chance, 0 to 100, that the delay applies (default 100).
	HeaderDelayPercentage = "x-envoy-fault-delay-request-percentage"
)

// Names of the header faults in the counters and the fault log.
const (
	headerDelayName = "header-delay"
	headerAbortName = "header-abort"
)

// maxHeaderDelay bounds a header-asked delay, so one call cannot park a
// goroutine for days.
const maxHeaderDelay = time.Hour

// headerFaults applies the delay and then the abort the call's headers ask
// for, as Envoy does. A value that does not parse asks for nothing.
func (e *engine) headerFaults(ctx context.Context, c *Call) error {
	get := func(k string) (string, bool) {
		if v := c.MD.Get(k); len(v) > 0 {
			return strings.TrimSpace(v[0]), true
		}
		return "", false
	}
	delay, hasDelay := get(HeaderDelay)
	delayPct, _ := get(HeaderDelayPercentage)
	abortGRPC, hasAbortGRPC := get(HeaderAbortGRPC)
	abortHTTP, hasAbortHTTP := get(HeaderAbortHTTP)
	abortPct, _ := get(HeaderAbortPercentage)
	stripFaultHeaders(c)

	if hasDelay {
		ms, err := strconv.ParseInt(delay, 10, 64)
		if err == nil && ms >= 0 && e.percent(delayPct) {
			d := maxHeaderDelay
			if ms < int64(maxHeaderDelay/time.Millisecond) {
				d = time.Duration(ms) * time.Millisecond
			}
			e.metrics.applied(headerDelayName, "latency", c.Method)
			c.notes = append(c.notes[:0], "delay", d.String())
			err := c.Sleep(ctx, d)
			e.logApplied(ctx, headerDelayName, "latency", c, err)
			if err != nil {
				return err
			}
		}
	}
	var abort *AbortError
	switch {
	case hasAbortGRPC:
		if code, err := strconv.Atoi(abortGRPC); err == nil && code > 0 && code < len(codeNames) {
			abort = &AbortError{Code: codes.Code(code), Message: "aborted by the " + HeaderAbortGRPC + " header"}
		}
	case hasAbortHTTP:
		if st, err := strconv.Atoi(abortHTTP); err == nil && st >= 200 && st <= 599 {
			abort = &AbortError{Code: grpcCodeOfHTTP(st), HTTPStatus: st, Message: "aborted by the " + HeaderAbortHTTP + " header"}
		}
	}
	if abort != nil && e.percent(abortPct) {
		e.metrics.applied(headerAbortName, "abort", c.Method)
		c.notes = append(c.notes[:0], "code", CodeName(abort.Code))
		e.logApplied(ctx, headerAbortName, "abort", c, abort)
		return abort
	}
	return nil
}

// percent draws against a percentage header: absent is 100, a value past
// 100 is 100, and a value that does not parse is 0 (the fault is not applied).
func (e *engine) percent(v string) bool {
	if v == "" {
		return true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return false
	}
	return e.draw(float64(min(n, 100)) / 100)
}

// stripFaultHeaders removes every x-envoy-fault-* header, so they never
// reach the upstream (a second proxy would act on them again).
func stripFaultHeaders(c *Call) {
	for k := range c.MD {
		if strings.HasPrefix(k, "x-envoy-fault-") {
			delete(c.MD, k)
		}
	}
}
