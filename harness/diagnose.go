package harness

import (
	"cmp"
	"slices"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/harness/diagnosis"
	"github.com/jitbench/jitbench/harness/measure"
)

// DiagnosesCheck names the check of expect.diagnoses, one per cause: "diagnosis token-expired".
const DiagnosesCheck = "diagnosis"

// Diagnoses returns the causes expect.diagnoses may name.
func Diagnoses() []string { return diagnosis.Causes() }

// DiagnosisRow is the failed calls with one diagnosed cause.
type DiagnosisRow struct {
	// Cause is the diagnosis's id; Known is false when the cause could not be told.
	Cause string `json:"cause"`
	Known bool   `json:"known"`
	// Calls is how many calls it holds, Share their part of all calls.
	Calls int    `json:"calls"`
	Share string `json:"share"`
	// Summary and Fix are the first such call's diagnosis.
	Summary string `json:"summary"`
	Fix     string `json:"fix,omitempty"`
}

// diagnose tells the cause of every failed call to the user's service, from
// what the service returned, what the call carried and the faults in force
// when it was made. The tokens are dropped once read: they never leave memory.
func (x *externalSystem) diagnose(rec *Record) {
	t := x.diagnosisTarget(rec.Measurements)
	for i := range rec.Outcomes {
		o := &rec.Outcomes[i]
		tr := o.sent
		o.sent = nil
		if o.Code == codes.OK {
			continue
		}
		var identity, grant string
		if tr != nil {
			identity, grant = tr.tokens()
		}
		// The service's own words may echo what it was sent: never quoted as they came.
		o.Message = diagnosis.Redact(o.Message, identity, grant)
		for k, v := range o.Metadata {
			o.Metadata[k] = diagnosis.Redact(v, identity, grant)
		}
		c := diagnosis.Call{Code: o.Code, Message: o.Message, Reason: string(o.Reason), Phase: o.Phase,
			Deadline: o.Deadline, Latency: o.Latency, GrantWait: o.GrantWait, Attempts: o.Attempts,
			Faults: faultsAt(rec.Faults, o.At)}
		if !rec.Start.IsZero() {
			c.Sent = rec.Start.Add(o.At)
		}
		c.Identity, c.Grant = identity, grant
		if tr != nil {
			c.RetriesExtendDeadline = tr.settings.ExtendDeadlineOnRetry
		}
		d := diagnosis.Explain(c, t)
		o.Diagnosis = &Diagnosis{Cause: d.Cause, Summary: d.Summary, Fix: d.Fix, Known: d.Known}
	}
}

// diagnosisTarget is what the config declares about the service, and what
// the scenario's measurements found.
func (x *externalSystem) diagnosisTarget(results []measure.Result) diagnosis.Target {
	cfg := x.session.Config()
	t := diagnosis.Target{
		Leeway: cfg.Leeway, MaxLifetime: cfg.MaxGrantLifetime, Algorithms: cfg.Algorithms,
		Audience: cfg.Audience, GrantIssuer: cfg.Grant.Name, IdentityIssuer: cfg.Identity.Name,
		SingleToken: cfg.Profile == conformance.SingleToken,
		// The headers by their names in this service, for the words.
		IdentityHeader: cfg.IdentityHeader, GrantHeader: cfg.GrantHeader,
		GrantKeys: cfg.Grant.Keys, IdentityKeys: cfg.Identity.Keys,
	}
	for _, r := range results {
		for _, f := range r.Figures {
			if f.Verdict == measure.CannotMeasure || f.AboveBound {
				continue
			}
			switch f.Name {
			case measure.FigureLeeway:
				t.Measured.Leeway, t.Measured.LeewayKnown = f.Value, true
			case measure.FigureClockOffset:
				t.Measured.ClockOffset, t.Measured.ClockOffsetKnown = f.Value, true
			case measure.FigureMaxLifetime:
				t.Measured.MaxLifetime, t.Measured.MaxLifetimeKnown = f.Value, true
			}
		}
	}
	return t
}

// faultsAt are the faults whose window was open at (from the start of the load).
func faultsAt(runs []FaultRun, at time.Duration) []diagnosis.Fault {
	var out []diagnosis.Fault
	for _, f := range runs {
		if f.Applied && f.At <= at && (f.Until == 0 || at < f.Until) {
			out = append(out, diagnosis.Fault{Kind: f.Kind, What: f.Effect})
		}
	}
	return out
}

// diagnosisRows groups the diagnosed calls by cause, most frequent first.
func diagnosisRows(outcomes []Outcome) []DiagnosisRow {
	byCause := map[string]*DiagnosisRow{}
	for _, o := range outcomes {
		d := o.Diagnosis
		if d == nil {
			continue
		}
		row, ok := byCause[d.Cause]
		if !ok {
			row = &DiagnosisRow{Cause: d.Cause, Known: d.Known, Summary: d.Summary, Fix: d.Fix}
			byCause[d.Cause] = row
		}
		row.Calls++
	}
	out := make([]DiagnosisRow, 0, len(byCause))
	for _, row := range byCause {
		row.Share = percent(row.Calls, len(outcomes))
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b DiagnosisRow) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Cause, b.Cause))
	})
	return out
}

// diagnosisCounts counts the calls by diagnosed cause.
func diagnosisCounts(rows []DiagnosisRow) map[string]int {
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Cause] = r.Calls
	}
	return out
}
