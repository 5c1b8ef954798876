package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// The benchmarks compare a direct connection with one through the proxy
// (no fault set), side by side in one process: client, proxy and upstream
// share the machine's cores, so every figure covers all three.
//
// BenchmarkAddedLatency runs open-loop windows of one second at a fixed
// rate (JITBENCH_PROXY_RATE calls/s, default 5000), alternating direct and
// proxied windows (ABBA), and reports p50 and p99 of each path and their
// difference. Latency is measured from each call's intended send time, so
// a stall is not hidden by the sender waiting. One b.N iteration is one
// pair of windows: run it with -benchtime 10x for ten pairs.
//
// BenchmarkCeiling runs calls back to back from 16 goroutines over one
// connection: the most calls per second each path carries here.

// benchRate is the open-loop rate of BenchmarkAddedLatency.
func benchRate(b *testing.B) int {
	rate := 5000
	if v := os.Getenv("JITBENCH_PROXY_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("JITBENCH_PROXY_RATE: want a positive number of calls per second, got %q", v)
		}
		rate = n
	}
	return rate
}

// benchPaths starts an upstream and a proxy in front of it and returns a
// client of each.
func benchPaths(b *testing.B) (direct, proxied testpb.TestServiceClient) {
	b.Helper()
	_, addr, _ := startUpstream(b, nil)
	_, proxied = startProxy(b, addr, proxy.Config{})
	direct = dialTest(b, addr)
	return direct, proxied
}

// benchCall is one kind of call the benchmarks make.
type benchCall struct {
	name string
	do   func(ctx context.Context, c testpb.TestServiceClient) error
}

var benchCalls = []benchCall{
	{"unary", func(ctx context.Context, c testpb.TestServiceClient) error {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 64)}})
		return err
	}},
	{"stream5", func(ctx context.Context, c testpb.TestServiceClient) error {
		// A server stream of five 64-byte messages, read to the end.
		req := &testpb.StreamingOutputCallRequest{}
		for range 5 {
			req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: 64})
		}
		st, err := c.StreamingOutputCall(ctx, req)
		if err != nil {
			return err
		}
		for {
			if _, err := st.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}},
}

// window is what one open-loop window measured.
type window struct {
	lat    []time.Duration
	errs   int
	cpu    time.Duration
	behind time.Duration // how late the last send left: the sender's own lag
}

// runWindow sends rate calls per second for d, each from its intended
// send time, and waits for all of them.
func runWindow(ctx context.Context, c testpb.TestServiceClient, call benchCall, rate int, d time.Duration) window {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	failed := make([]bool, n)
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	var behind time.Duration
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		} else {
			behind = -wait
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := call.do(ctx, c)
			lat[i] = time.Since(due)
			failed[i] = err != nil
		}()
	}
	wg.Wait()
	w := window{lat: lat, cpu: processCPU() - cpu0, behind: behind}
	for _, f := range failed {
		if f {
			w.errs++
		}
	}
	return w
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func BenchmarkAddedLatency(b *testing.B) {
	rate := benchRate(b)
	for _, call := range benchCalls {
		b.Run(fmt.Sprintf("%s/rate=%d", call.name, rate), func(b *testing.B) {
			direct, proxied := benchPaths(b)
			ctx := b.Context()
			// Warm both paths: connections, buffers, the upstream's goroutines.
			runWindow(ctx, direct, call, rate, 200*time.Millisecond)
			runWindow(ctx, proxied, call, rate, 200*time.Millisecond)
			var d, p window
			b.ResetTimer()
			for i := range b.N {
				order := []testpb.TestServiceClient{direct, proxied}
				if i%2 == 1 {
					order = []testpb.TestServiceClient{proxied, direct}
				}
				for _, c := range order {
					w := runWindow(ctx, c, call, rate, time.Second)
					acc := &d
					if c == proxied {
						acc = &p
					}
					acc.lat = append(acc.lat, w.lat...)
					acc.errs += w.errs
					acc.cpu += w.cpu
					acc.behind = max(acc.behind, w.behind)
				}
			}
			b.StopTimer()
			if d.errs+p.errs > 0 {
				b.Fatalf("%d direct and %d proxied calls failed", d.errs, p.errs)
			}
			slices.Sort(d.lat)
			slices.Sort(p.lat)
			us := func(x time.Duration) float64 { return float64(x) / float64(time.Microsecond) }
			b.ReportMetric(us(percentile(d.lat, 0.50)), "direct-p50-us")
			b.ReportMetric(us(percentile(d.lat, 0.99)), "direct-p99-us")
			b.ReportMetric(us(percentile(p.lat, 0.50)), "proxy-p50-us")
			b.ReportMetric(us(percentile(p.lat, 0.99)), "proxy-p99-us")
			b.ReportMetric(us(percentile(p.lat, 0.50)-percentile(d.lat, 0.50)), "added-p50-us")
			b.ReportMetric(us(percentile(p.lat, 0.99)-percentile(d.lat, 0.99)), "added-p99-us")
			if d.cpu > 0 {
				b.ReportMetric(us(d.cpu)/float64(len(d.lat)), "direct-cpu-us/call")
				b.ReportMetric(us(p.cpu)/float64(len(p.lat)), "proxy-cpu-us/call")
			}
			b.ReportMetric(us(max(d.behind, p.behind)), "sender-lag-us")
			b.ReportMetric(0, "ns/op") // an iteration is two fixed windows: its time says nothing
		})
	}
}

func BenchmarkCeiling(b *testing.B) {
	for _, call := range benchCalls {
		for _, path := range []string{"direct", "proxy"} {
			b.Run(call.name+"/"+path, func(b *testing.B) {
				direct, proxied := benchPaths(b)
				c := direct
				if path == "proxy" {
					c = proxied
				}
				ctx := b.Context()
				if err := call.do(ctx, c); err != nil {
					b.Fatal(err)
				}
				b.SetParallelism(8) // 16 calling goroutines on 2 cores
				cpu0 := processCPU()
				start := time.Now()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := call.do(ctx, c); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				if cpu := processCPU() - cpu0; cpu0 > 0 && b.N > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
			})
		}
	}
}
