package load

import (
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
)

// ErrApprovalsPending is the cause a caller gives Abort when a PendingGuard
// finds the run stuck on approvals nobody gives.
var ErrApprovalsPending = errors.New("access requests are waiting for a reviewer")

// Defaults of a PendingGuard: a run is stuck after three checks a second
// apart found it waiting on approvals and making no progress.
const (
	DefaultPendingEvery  = time.Second
	DefaultPendingChecks = 3
)

// PendingOptions configure a PendingGuard.
type PendingOptions struct {
	// Approvals sees the broker's answers; nil judges from the calls alone,
	// which say APPROVAL_PENDING only once their deadline has passed.
	Approvals *ApprovalWatch
	// Every is the time between checks; zero means DefaultPendingEvery.
	Every time.Duration
	// Checks is how many checks in a row must find the run waiting without
	// progress; zero means DefaultPendingChecks.
	Checks int
	// Clock times the checks; nil means the real clock.
	Clock clockwork.Clock
	// OnStuck is called once, from the guard's goroutine, when the run is found stuck.
	OnStuck func(Stuck)
}

// Stuck describes a run found waiting on approvals.
type Stuck struct {
	// Waiting is the number of access requests pending as the run was found stuck.
	Waiting int64
	// PendingCalls counts the calls that ended APPROVAL_PENDING so far.
	PendingCalls int64
	// For is how long the run waited without progress: Checks × Every.
	For time.Duration
}

// PendingGuard checks a run at intervals for calls that wait on approvals
// nobody gives: checks in a row find every call under way waiting on a
// pending access request (or every call that ended, ended
// APPROVAL_PENDING), while no request was decided and no call ended OK. A
// run that gets approvals, even slowly, or that fails for other reasons,
// is never stuck.
type PendingGuard struct {
	gen   *Generator
	opts  PendingOptions
	stop  chan struct{}
	ended chan struct{}
}

// StartPendingGuard checks g until Stop or until it calls opts.OnStuck.
func StartPendingGuard(g *Generator, opts PendingOptions) *PendingGuard {
	if opts.Every <= 0 {
		opts.Every = DefaultPendingEvery
	}
	if opts.Checks <= 0 {
		opts.Checks = DefaultPendingChecks
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	p := &PendingGuard{gen: g, opts: opts, stop: make(chan struct{}), ended: make(chan struct{})}
	go p.loop()
	return p
}

// Stop ends the checks and waits for the guard's goroutine; safe on nil and twice.
func (p *PendingGuard) Stop() {
	if p == nil {
		return
	}
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.ended
}

func (p *PendingGuard) loop() {
	defer close(p.ended)
	timer := p.opts.Clock.NewTimer(p.opts.Every)
	defer timer.Stop()
	prev := p.look()
	streak := 0
	for {
		select {
		case <-p.stop:
			return
		case <-timer.Chan():
		}
		cur := p.look()
		if stalledOnApproval(prev, cur) {
			streak++
		} else {
			streak = 0
		}
		prev = cur
		if streak >= p.opts.Checks {
			if p.opts.OnStuck != nil {
				p.opts.OnStuck(Stuck{Waiting: cur.approvals.Waiting, PendingCalls: cur.pendingCalls,
					For: time.Duration(p.opts.Checks) * p.opts.Every})
			}
			return
		}
		timer.Reset(p.opts.Every)
	}
}

// guardView is what one check sees.
type guardView struct {
	approvals    ApprovalCounts
	pendingCalls int64 // calls ended APPROVAL_PENDING
	ok           int64 // calls ended OK
	done         int64 // calls ended
	inFlight     int64 // calls under way
}

func (p *PendingGuard) look() guardView {
	var v guardView
	if p.opts.Approvals != nil {
		v.approvals = p.opts.Approvals.Counts()
	}
	s := p.gen.Stats()
	v.pendingCalls, v.ok, v.done = s.Pending, s.Codes["OK"], s.Done
	v.inFlight = max(s.Sent-s.Done-s.Abandoned, 0)
	return v
}

// stalledOnApproval reports whether, between two checks, the run did
// nothing but wait on approvals: every call under way waits on a pending
// request (or every call that ended, ended APPROVAL_PENDING), and no
// request was decided and no call ended OK. A broker that is merely slow
// or down leaves calls elsewhere (opening requests, retrying), so it is
// not taken for one nobody reviews for.
func stalledOnApproval(prev, cur guardView) bool {
	allWaiting := cur.approvals.Waiting > 0 && cur.approvals.Waiting >= cur.inFlight
	ended := cur.done - prev.done
	onlyPendingEnded := ended > 0 && cur.pendingCalls-prev.pendingCalls == ended
	progress := cur.approvals.Decided != prev.approvals.Decided || cur.ok != prev.ok
	return (allWaiting || onlyPendingEnded) && !progress
}
