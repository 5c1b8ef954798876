package reports_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitbench/jitbench/reports"
)

// benchSample returns the i-th sample of a 100k calls/s open-loop stream
// with a few outcomes, so seconds roll over and shards seal them.
func benchSample(i int64) reports.Sample {
	at := t0.Add(time.Duration(i) * 10 * time.Microsecond)
	s := reports.Sample{Intended: at, Start: at, Latency: time.Duration(500+i%4000) * time.Microsecond}
	switch i % 50 {
	case 0:
		s.Code, s.Reason = "PERMISSION_DENIED", "GRANT_EXPIRED"
	case 1:
		s.Code, s.Reason = "UNAUTHENTICATED", "IDENTITY_EXPIRED"
	}
	return s
}

// BenchmarkRecord is one goroutine recording: the cost of a call's bookkeeping.
func BenchmarkRecord(b *testing.B) {
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.OpenLoop})
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		rec.Record(benchSample(i))
		i++
	}
}

// BenchmarkRecordParallel is the load generator's case: every worker
// goroutine records its own completions into one Recorder.
func BenchmarkRecordParallel(b *testing.B) {
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.OpenLoop})
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine takes a block of the stream, as a worker would.
		i := next.Add(1 << 40)
		for pb.Next() {
			rec.Record(benchSample(i))
			i++
		}
	})
}

// BenchmarkFinish is the cost of turning a minute of recording into a Result.
func BenchmarkFinish(b *testing.B) {
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.OpenLoop})
	for i := range int64(600_000) {
		s := benchSample(i)
		s.Intended = t0.Add(time.Duration(i) * 100 * time.Microsecond)
		s.Start = s.Intended
		rec.Record(s)
	}
	b.ResetTimer()
	for b.Loop() {
		rec.Finish()
	}
}

// BenchmarkRecordMessages is BenchmarkRecordParallel with a status message
// on every failed call (one per reason, as a server usually words one
// failure): the cost of keeping the most frequent messages.
func BenchmarkRecordMessages(b *testing.B) {
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.OpenLoop})
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1 << 40)
		for pb.Next() {
			s := benchSample(i)
			switch i % 50 {
			case 0:
				s.Message = "the token expired 3s ago (leeway 30s)"
			case 1:
				s.Message = "the identity token expired 1m0s ago"
			}
			rec.Record(s)
			i++
		}
	})
}
