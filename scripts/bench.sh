#!/usr/bin/env bash
# Runs the Go benchmarks behind BENCHMARKS.md in one go and summarises them:
#
#   - the grant verifier benchmarks of reference/token (BenchmarkVerify*),
#   - the interceptor overhead benchmarks of reference/stack
#     (BenchmarkUnaryLoopback and BenchmarkUnaryBufconn, each with a
#     "protected" and an "unprotected" sub-benchmark), and the interceptor
#     alone (BenchmarkUnaryInterceptor),
#
# then prints benchstat's medians and the protected/unprotected throughput
# ratio (median unprotected ns/op ÷ median protected ns/op; target ≥ 0.95),
# the same ratio of CPU time per call (cpu-ns/op) as a second view, and an
# estimate from the interceptor's own CPU cost measured alone.
#
# `go test -count N` repeats each sub-benchmark N times back to back, so all
# protected runs would come before all unprotected ones and a burst of noise
# (this is a shared 2-core machine) would land on one side only. The stack
# benchmarks are therefore run as STACK_COUNT rounds from one compiled test
# binary, each sub-benchmark once per round in its own process, in ABBA order
# (protected first in odd rounds, unprotected first in even ones), so the two
# alternate and neither always runs first.
#
# Environment: GO (default go), BENCHTIME (default 1s), TOKEN_COUNT (default
# 5), STACK_COUNT (default 10), BENCH_OUT (directory for the raw output;
# default a new temporary directory, which is kept and printed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
BENCHTIME=${BENCHTIME:-1s}
TOKEN_COUNT=${TOKEN_COUNT:-5}
STACK_COUNT=${STACK_COUNT:-10}
TARGET=0.95
BENCHSTAT=(env GOFLAGS= "$GO" run golang.org/x/perf/cmd/benchstat@latest)

out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/jitbench-bench.XXXXXX")}
mkdir -p "$out"

# show prints a command as it is about to run; run prints it, then runs it.
show() { printf '+ %s\n' "$*"; }
run() {
	show "$@"
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

section "token verify benchmarks (raw: $out/token.txt)"
token_cmd=("$GO" test -run '^$' -bench 'Verify' -benchmem -benchtime "$BENCHTIME" -count "$TOKEN_COUNT" ./reference/token/)
show "${token_cmd[@]}"
"${token_cmd[@]}" | tee "$out/token.txt"

section "interceptor overhead benchmarks, $STACK_COUNT interleaved rounds (raw: $out/stack.txt)"
run "$GO" test -c -o "$out/stack.test" ./reference/stack/
: >"$out/stack.txt"
for ((i = 1; i <= STACK_COUNT; i++)); do
	# ABBA: odd rounds measure protected first, even rounds unprotected first.
	if ((i % 2)); then order=(protected unprotected); else order=(unprotected protected); fi
	echo "round $i/$STACK_COUNT: ${order[*]}"
	for transport in Loopback Bufconn; do
		for variant in "${order[@]}"; do
			stack_cmd=("$out/stack.test" -test.run '^$' -test.bench "^BenchmarkUnary$transport\$/^$variant\$"
				-test.benchmem -test.benchtime "$BENCHTIME" -test.count 1)
			show "${stack_cmd[@]}"
			"${stack_cmd[@]}" | tee -a "$out/stack.txt"
		done
	done
done

section "interceptor alone, no transport (raw: $out/interceptor.txt)"
icpt_cmd=("$out/stack.test" -test.run '^$' -test.bench '^BenchmarkUnaryInterceptor$' -test.benchmem
	-test.benchtime "$BENCHTIME" -test.count "$STACK_COUNT")
show "${icpt_cmd[@]}"
"${icpt_cmd[@]}" | tee "$out/interceptor.txt"
echo "loadavg:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (after the runs)"

# Split the stack results into one file per variant, with the variant taken
# out of the name, so benchstat can compare them as A/B.
for variant in protected unprotected; do
	awk -v v="$variant" '
		/^Benchmark/ { if (sub("/" v "-", "-", $1) || sub("/" v "$", "", $1)) print; next }
		/^[a-z]+: / { print }
	' "$out/stack.txt" >"$out/$variant.txt"
done

section "benchstat: token verify"
if grep -q '^Benchmark' "$out/token.txt"; then
	run "${BENCHSTAT[@]}" "$out/token.txt"
else
	echo "no Verify benchmarks in ./reference/token/ yet"
fi

section "benchstat: interceptor overhead"
run "${BENCHSTAT[@]}" "$out/stack.txt"

section "benchstat: interceptor alone"
run "${BENCHSTAT[@]}" "$out/interceptor.txt"

section "benchstat: unprotected vs protected"
run "${BENCHSTAT[@]}" "unprotected=$out/unprotected.txt" "protected=$out/protected.txt"

section "protected/unprotected throughput ratio (median unprotected ns/op ÷ median protected ns/op; target ≥ $TARGET)"

# median reads numbers, one a line, and prints their median, or "-" when there are none.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# metric prints every value of unit for the benchmark named name (GOMAXPROCS
# suffix ignored) in file, by default the end-to-end results.
metric() {
	awk -v name="$1" -v unit="$2" '
		/^Benchmark/ {
			n = $1; sub(/-[0-9]+$/, "", n)
			if (n != name) next
			for (i = 3; i <= NF; i++) if ($i == unit) print $(i - 1)
		}' "${3:-$out/stack.txt}"
}

# ratio prints unprotected ÷ protected for the medians of unit, with the overhead per call.
ratio() {
	awk -v p="$(metric "BenchmarkUnary$1/protected" "$2" | median)" \
		-v u="$(metric "BenchmarkUnary$1/unprotected" "$2" | median)" -v unit="$2" 'BEGIN {
		if (p == "-" || u == "-" || p <= 0) { printf "no %s figures", unit; exit }
		printf "%.3f (median %s: protected %.0f, unprotected %.0f; protected costs %+.1f%% per call)", u / p, unit, p, u, (p / u - 1) * 100
	}'
}

below=0
printf '%-10s %-12s %5s %10s %10s %10s %10s %10s\n' transport variant runs 'ns/op' 'calls/s' 'cpu-ns/op' 'allocs/op' 'B/op'
for transport in Loopback Bufconn; do
	for variant in protected unprotected; do
		name="BenchmarkUnary$transport/$variant"
		runs=$(metric "$name" ns/op | wc -l)
		if [ "$runs" -eq 0 ]; then
			echo >&2 "bench.sh: no results for $name"
			exit 1
		fi
		printf '%-10s %-12s %5d %10s %10s %10s %10s %10s\n' "$transport" "$variant" "$runs" \
			"$(metric "$name" ns/op | median)" "$(metric "$name" calls/s | median)" \
			"$(metric "$name" cpu-ns/op | median)" "$(metric "$name" allocs/op | median)" \
			"$(metric "$name" B/op | median)"
	done
done
echo
for transport in Loopback Bufconn; do
	wall=$(ratio "$transport" ns/op)
	verdict=$(awk -v r="${wall%% *}" -v t="$TARGET" 'BEGIN { print (r >= t ? "meets" : "BELOW") " the " t " target" }')
	printf '%-10s throughput ratio %s: %s\n' "$transport" "$wall" "$verdict"
	printf '%-10s CPU ratio        %s\n' "" "$(ratio "$transport" cpu-ns/op)"
	case $verdict in BELOW*) below=1 ;; esac
done
echo
# The end-to-end figures are wall time on a shared machine; the interceptor's
# own CPU cost, measured alone, bounds the overhead with far less noise: serial
# on one core, and parallel with both cores contending on its locks; the
# larger of the two is taken.
icpt_s=$(metric BenchmarkUnaryInterceptor/serial cpu-ns/op "$out/interceptor.txt" | median)
icpt_p=$(metric BenchmarkUnaryInterceptor/parallel cpu-ns/op "$out/interceptor.txt" | median)
for transport in Loopback Bufconn; do
	awk -v s="$icpt_s" -v p="$icpt_p" -v u="$(metric "BenchmarkUnary$transport/unprotected" cpu-ns/op | median)" -v t="$transport" 'BEGIN {
		if (s == "-" || p == "-" || u == "-" || u <= 0) { printf "%-10s no estimate (missing cpu-ns/op figures)\n", t; exit }
		m = (s > p ? s : p)
		printf "%-10s estimate: the interceptor alone costs %.0f cpu-ns per call serial, %.0f parallel; the larger is %.1f%% of an unprotected call'"'"'s %.0f cpu-ns: CPU-bound ratio ≈ %.3f\n", t, s, p, m / u * 100, u, u / (u + m)
	}'
done

section "commands"
echo "$GO test -run '^\$' -bench 'Verify' -benchmem -benchtime $BENCHTIME -count $TOKEN_COUNT ./reference/token/"
echo "$GO test -c -o $out/stack.test ./reference/stack/"
echo "$STACK_COUNT rounds of, for T in Loopback Bufconn, for V in protected unprotected (order reversed in even rounds):"
echo "  $out/stack.test -test.run '^\$' -test.bench '^BenchmarkUnary\$T\$/^\$V\$' -test.benchmem -test.benchtime $BENCHTIME -test.count 1"
echo "$out/stack.test -test.run '^\$' -test.bench '^BenchmarkUnaryInterceptor\$' -test.benchmem -test.benchtime $BENCHTIME -test.count $STACK_COUNT"
echo "${BENCHSTAT[*]} $out/token.txt"
echo "${BENCHSTAT[*]} $out/stack.txt"
echo "${BENCHSTAT[*]} $out/interceptor.txt"
echo "${BENCHSTAT[*]} unprotected=$out/unprotected.txt protected=$out/protected.txt"
if [ "$below" -eq 1 ]; then
	echo "note: a ratio is below the target; on a loaded machine rerun before drawing conclusions (see BENCHMARKS.md)"
fi
