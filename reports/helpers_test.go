package reports_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// t0 is the start of the fixture's measured window.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Fixture shape: an open-loop run at 100 calls/s for 10 s after a 2 s
// warm-up, with the server frozen from t=4s to t=6s.
const (
	fixtureRate   = 100
	fixtureCalls  = 1000
	fixtureWarmUp = 200
)

var (
	freezeStart = t0.Add(4 * time.Second)
	freezeEnd   = t0.Add(6 * time.Second)
)

// rng is a tiny xorshift generator: the fixture must not change when the
// standard library's generators do, or every golden file would.
type rng struct{ s uint64 }

func (r *rng) intn(n int) int {
	r.s ^= r.s << 13
	r.s ^= r.s >> 7
	r.s ^= r.s << 17
	return int(r.s % uint64(n))
}

func us(n int) time.Duration { return time.Duration(n) * time.Microsecond }

// fixtureRun describes the fixture run as the load generator would.
func fixtureRun() reports.Run {
	return reports.Run{
		Name:        "read-under-freeze",
		Target:      "127.0.0.1:7443",
		Method:      "/demo.v1.Vault/Read",
		Start:       t0,
		WarmUp:      reports.Duration(2 * time.Second),
		Mode:        reports.OpenLoop,
		Rate:        fixtureRate,
		Connections: 4,
		Seed:        42,
		Version:     "v0.1.0-test",
		Workers:     []string{"w1"},
	}
}

// fixtureToken is a JWT in a status message: no report may show it.
const fixtureToken = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"

// fixtureSamples returns the fixture's samples in sending order: calls with
// a mix of codes, reasons and status messages (one with a token), a slow
// tail, the freeze, and a timed grant phase on every tenth call.
func fixtureSamples() []reports.Sample {
	r := &rng{s: 42}
	var out []reports.Sample
	for i := -fixtureWarmUp; i < fixtureCalls; i++ {
		intended := t0.Add(time.Duration(i) * time.Second / fixtureRate)
		lat := us(800 + r.intn(1500))
		if r.intn(100) == 0 {
			lat += us(20_000 + r.intn(30_000))
		}
		code, reason, msg := "OK", "", ""
		switch u := r.intn(1000); {
		case u < 20:
			code, reason, lat = "PERMISSION_DENIED", "GRANT_EXPIRED", us(300+r.intn(200))
			msg = fmt.Sprintf("the token expired %ds ago (leeway 30s)", 1+(i+fixtureWarmUp)%4)
		case u < 30:
			code, reason, lat = "PERMISSION_DENIED", "GRANT_NOT_YET_VALID", us(300+r.intn(200))
		case u < 40:
			code, reason, lat = "UNAUTHENTICATED", "IDENTITY_EXPIRED", us(250+r.intn(100))
			msg = "identity " + fixtureToken + " expired"
		case u < 48:
			code, reason, lat = "DEADLINE_EXCEEDED", "APPROVAL_PENDING", 200*time.Millisecond+us(r.intn(500))
			msg = "no decision on request r-1 before the call's deadline"
		case u < 55:
			code, msg = "UNAVAILABLE", "connection error: dial tcp 127.0.0.1:7443: connect: connection refused"
		}
		// Open loop: a call meant for the frozen window waits for the thaw,
		// and its latency, measured from the intended time, says so.
		if !intended.Before(freezeStart) && intended.Before(freezeEnd) {
			lat += freezeEnd.Sub(intended)
		}
		start := intended.Add(us(r.intn(200)))
		out = append(out, reports.Sample{Intended: intended, Start: start, Latency: lat, Code: code, Reason: reason, Message: msg})
		if i%10 == 0 {
			out = append(out, reports.Sample{Intended: intended, Start: start, Latency: us(150 + r.intn(300)), Phase: "grant"})
		}
	}
	return out
}

// fixtureJSON is the fixture recorded once: recording is slow under the
// race detector, which instruments every loop over histogram buckets.
var fixtureJSON = sync.OnceValues(func() ([]byte, error) {
	var b bytes.Buffer
	err := reports.Write(&b, recordFixture())
	return b.Bytes(), err
})

// fixture returns a fresh copy of the fixture result, which the caller may change.
func fixture(t testing.TB) *reports.Result {
	t.Helper()
	b, err := fixtureJSON()
	require.NoError(t, err)
	res, err := reports.Read(bytes.NewReader(b))
	require.NoError(t, err)
	return res
}

// recordFixture records the fixture samples and adds expectations as the harness would.
func recordFixture() *reports.Result {
	rec := reports.NewRecorder(fixtureRun())
	for _, s := range fixtureSamples() {
		rec.Record(s)
	}
	res := rec.Finish()
	p99 := res.Latency.Percentile(99)
	res.Expectations = []reports.Expectation{
		{Name: "OK share", Want: ">= 90%", Got: fmt.Sprintf("%.2f%%", res.Share("OK")*100), Pass: res.Share("OK") >= 0.9},
		{Name: "p99", Want: "< 100ms", Got: p99.Round(time.Millisecond).String(), Pass: p99 < 100*time.Millisecond},
		{Name: "no UNAVAILABLE", Want: "0 calls", Got: fmt.Sprintf("%d calls", res.Codes["UNAVAILABLE"]), Pass: res.Codes["UNAVAILABLE"] == 0},
	}
	return res
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./reports -update to create it")
	assert.Equal(t, string(want), string(got), "%s differs; if the change is intended, run go test ./reports -update", path)
}

func render(t testing.TB, r *reports.Result, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, reports.Render(&b, r, format))
	return b.Bytes()
}
