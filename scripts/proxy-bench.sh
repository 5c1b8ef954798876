#!/usr/bin/env bash
# The proxy's performance figures (issue 13), measured side by side in one
# run: a direct connection and one through `jitbench proxy` (no fault set)
# to the same upstream, client, proxy and upstream in one process.
#
#   (a) BenchmarkAddedLatency: open-loop windows of one second at RATE
#       calls/s, direct and proxied windows alternating (ABBA), ROUNDS pairs
#       per call kind (unary; a server stream of five messages). Reports
#       p50 and p99 of each path, their difference ("added"), and process
#       CPU per call on each path. Latency counts from each call's intended
#       send time; sender-lag-us says how far the sender itself fell behind.
#   (b) BenchmarkCeiling: 16 goroutines calling back to back over one
#       connection, CEILING_COUNT runs per path: calls/s and CPU per call.
#
# Every command is printed before it runs. Not part of `make test`.
# Environment: GO (default go), RATE (default 5000), ROUNDS (default 10),
# CEILING_TIME (default 2s), CEILING_COUNT (default 5), BENCH_OUT
# (directory for raw output; default a new temporary directory, kept).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
RATE=${RATE:-5000}
ROUNDS=${ROUNDS:-10}
CEILING_TIME=${CEILING_TIME:-2s}
CEILING_COUNT=${CEILING_COUNT:-5}
out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/jitbench-proxy-bench.XXXXXX")}
mkdir -p "$out"

run() {
	printf '+ %s\n' "$*"
	"$@"
}
section() { printf '\n== %s\n' "$*"; }

section "machine"
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "go version: $("$GO" version)"
echo "nproc:      $(nproc)"
echo "cpu model:  $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
echo "loadavg:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (before the runs)"
echo "commit:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (work tree has changes)')"
echo "raw output: $out"

section "build"
run "$GO" test -c -o "$out/proxy.test" ./fakes/proxy/

section "(a) added latency at $RATE calls/s, $ROUNDS pairs of 1 s windows"
run env JITBENCH_PROXY_RATE="$RATE" "$out/proxy.test" -test.run '^$' -test.bench '^BenchmarkAddedLatency$' \
	-test.benchtime "${ROUNDS}x" -test.count 1 | tee "$out/latency.txt"

section "(b) throughput ceiling, $CEILING_COUNT runs of $CEILING_TIME per path"
run "$out/proxy.test" -test.run '^$' -test.bench '^BenchmarkCeiling$' -test.benchtime "$CEILING_TIME" \
	-test.count "$CEILING_COUNT" | tee "$out/ceiling.txt"

section "medians of (b)"
# metric NAME UNIT: the values of UNIT on the lines of benchmark NAME, one a line.
metric() { grep "^$1-[0-9]* " "$out/ceiling.txt" | awk -v u="$2" '{ for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
for name in $(grep -o '^BenchmarkCeiling/[^ ]*' "$out/ceiling.txt" | sed 's/-[0-9]*$//' | sort -u); do
	printf '%-36s calls/s %10s   cpu-ns/op %10s   (%d runs)\n' "$name" \
		"$(metric "$name" calls/s | median)" "$(metric "$name" cpu-ns/op | median)" "$(metric "$name" calls/s | wc -l)"
done

section "done"
echo "loadavg:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (after the runs)"
echo "raw output kept in $out"
