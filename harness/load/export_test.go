package load

// GuardView is what one check of a PendingGuard sees, for tests of its rule.
type GuardView struct {
	Approvals                        ApprovalCounts
	PendingCalls, OK, Done, InFlight int64
}

func (v GuardView) view() guardView {
	return guardView{v.Approvals, v.PendingCalls, v.OK, v.Done, v.InFlight}
}

// StalledOnApproval is stalledOnApproval for tests.
func StalledOnApproval(prev, cur GuardView) bool {
	return stalledOnApproval(prev.view(), cur.view())
}

// LogLine is logLine with g's options, for tests.
func LogLine(g *Generator, s Stats, rate float64, warmDone int64) string {
	return logLine(s, rate, g.opts, warmDone)
}
