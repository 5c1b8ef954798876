#!/usr/bin/env bash
# The proofs of issue 5 (load generation), measured side by side in one run
# against one target, a `jitbench serve --auto-approve 1ms` on loopback:
#
#   (a) client CPU time per call, `jitbench load` vs ghz v0.121.0, same
#       concurrency, connections, call count, method, request and tokens
#       (the identity and grant serve prints, sent as metadata by both) —
#       target: jitbench ≤ 0.5 × ghz. The two clients alternate, CPU_ROUNDS
#       times each, and the medians are compared.
#   (b) a 2 s freeze of the server (SIGSTOP, then SIGCONT) during a 10 s,
#       500 calls/s open-loop run — target: jitbench's p99 ≥ 1.5 s; ghz's
#       figures (`--rps 500`) for the same freeze are printed beside it.
#   (c) peak RSS of `jitbench load --target inprocess` after RSS_LARGE calls
#       vs after RSS_SMALL calls at the same settings — target: ratio ≤ 1.2.
#       The large count is 5 M unless that would take longer than
#       RSS_BUDGET_S seconds at the small run's throughput; then it is the
#       largest multiple of 100 k that fits, and the script says so.
#
# Client CPU time and peak RSS come from /usr/bin/time (GNU time: `apt-get
# install time`). ghz is installed with `go install` into the temporary
# directory. Every command is printed before it runs. Not part of `make test`.
#
# Environment: GO (default go), CALLS (default 100000), CONCURRENCY
# (default 16), CONNECTIONS (default 4), CPU_ROUNDS (default 3),
# RSS_SMALL (default 100000), RSS_LARGE (default 5000000), RSS_BUDGET_S
# (default 290), BENCH_OUT (directory for raw output; default a new
# temporary directory, kept and printed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
CALLS=${CALLS:-100000}
CONCURRENCY=${CONCURRENCY:-16}
CONNECTIONS=${CONNECTIONS:-4}
CPU_ROUNDS=${CPU_ROUNDS:-3}
RSS_SMALL=${RSS_SMALL:-100000}
RSS_LARGE=${RSS_LARGE:-5000000}
RSS_BUDGET_S=${RSS_BUDGET_S:-290}
GHZ_VERSION=v0.121.0
FREEZE_RATE=500
FREEZE_RUN=10s
FREEZE_AT=4
FREEZE_FOR=2
TIME=/usr/bin/time

out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/jitbench-bench-load.XXXXXX")}
mkdir -p "$out"

# fmtcmd prints a command so that it can be pasted back into a shell:
# arguments naming the tokens ($ID, $GRANT) in double quotes, others in
# single quotes when they need any.
fmtcmd() {
	local a sep=""
	for a in "$@"; do
		if [[ $a == *'$ID'* || $a == *'$GRANT'* ]]; then
			a=${a//\"/\\\"}
			a="\"$a\""
		elif [[ $a =~ [^-A-Za-z0-9_./:=@,+%] ]]; then
			a="'${a//\'/\'\\\'\'}'"
		fi
		printf '%s%s' "$sep" "$a"
		sep=" "
	done
}
show() { printf '+ %s\n' "$(fmtcmd "$@")"; }
run() {
	show "$@"
	"$@"
}
section() { printf '\n== %s\n' "$*"; }
die() {
	echo "bench-load: $*" >&2
	exit 1
}

[ -x "$TIME" ] || die "$TIME is missing (GNU time: apt-get install time)"

section "machine"
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "go version: $("$GO" version)"
echo "nproc:      $(nproc)"
echo "cpu model:  $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
echo "loadavg:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (before the runs)"
echo "commit:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (work tree has changes)')"
echo "raw output: $out"

section "build"
jb=$out/jitbench
ghz=$out/ghz
run "$GO" build -o "$jb" ./cmd/jitbench
# GOFLAGS is cleared so that the caller's -mod settings do not apply to ghz's module.
run env GOBIN="$out" GOFLAGS= "$GO" install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
"$ghz" --version

section "target"
serve_cmd=("$jb" serve --addr 127.0.0.1:0 --broker-addr 127.0.0.1:0 --auto-approve 1ms --json)
printf '+ %s > %s &\n' "$(fmtcmd "${serve_cmd[@]}")" "$out/serve.json"
"${serve_cmd[@]}" >"$out/serve.json" 2>"$out/serve.err" &
serve_pid=$!
cleanup() {
	kill -CONT "$serve_pid" 2>/dev/null || true
	kill "$serve_pid" 2>/dev/null || true
	wait "$serve_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do
	[ -s "$out/serve.json" ] && break
	sleep 0.1
done
[ -s "$out/serve.json" ] || die "serve printed nothing: $(cat "$out/serve.err")"
field() { grep -o "\"$1\":\"[^\"]*\"" "$out/serve.json" | head -1 | cut -d'"' -f4; }
addr=$(field addr)
ID=$(field identity)
GRANT=$(field grant)
echo "serve pid $serve_pid on $addr; \$ID and \$GRANT are the tokens it printed (valid 1h, no approval needed)"

method=/demo.v1.Vault/Read
data='{"path":"secrets/db/password"}'
jb_load=("$jb" load --target "$addr" --method "$method" --data "$data" --grant none
	-H "authorization: Bearer \$ID" -H "x-jit-grant: \$GRANT" -q)
ghz_load=("$ghz" --insecure --call demo.v1.Vault.Read -d "$data" -m "{\"authorization\":\"Bearer \$ID\",\"x-jit-grant\":\"\$GRANT\"}")
# expand replaces the printed placeholders by the tokens themselves.
expand() {
	local a
	for a in "$@"; do
		a=${a//\$ID/$ID}
		printf '%s\0' "${a//\$GRANT/$GRANT}"
	done
}

# timed NAME CMD...: runs CMD under GNU time; the figures land in $out/NAME.time
# as "elapsed user system maxrss_kib", the output in $out/NAME.out.
timed() {
	local name=$1
	shift
	printf '+ %s > %s\n' "$(fmtcmd "$TIME" -f '%e %U %S %M' -o "$out/$name.time" "$@")" "$out/$name.out"
	local cmd=()
	mapfile -d '' cmd < <(expand "$@")
	"$TIME" -f '%e %U %S %M' -o "$out/$name.time" "${cmd[@]}" >"$out/$name.out" 2>"$out/$name.err" ||
		die "$name failed: $(tail -3 "$out/$name.err")"
}

# jb_ok FILE N: the jitbench report in FILE has N calls, all OK.
jb_ok() { grep -Eq "^OK +$2 +100\.00%\$" "$1" || die "$1: not $2 OK calls: $(grep -E '^(result|[A-Z_]+ +[0-9])' "$1" | tr '\n' ';')"; }
# ghz_ok FILE N: the ghz summary in FILE has N OK responses.
ghz_ok() { grep -Eq "\[OK\] +$2 responses" "$1" || die "$1: not $2 OK responses: $(grep -A3 'Status code' "$1" | tr '\n' ';')"; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

section "(a) client CPU time per call: $CALLS calls, concurrency $CONCURRENCY, $CONNECTIONS connections, closed loop"
for round in $(seq "$CPU_ROUNDS"); do
	# ABBA: jitbench first in odd rounds, ghz first in even ones.
	order=(jb ghz)
	[ $((round % 2)) -eq 0 ] && order=(ghz jb)
	for who in "${order[@]}"; do
		if [ "$who" = jb ]; then
			timed "cpu-jb-$round" "${jb_load[@]}" --concurrency "$CONCURRENCY" --connections "$CONNECTIONS" --calls "$CALLS"
			jb_ok "$out/cpu-jb-$round.out" "$CALLS"
		else
			timed "cpu-ghz-$round" "${ghz_load[@]}" -c "$CONCURRENCY" --connections "$CONNECTIONS" -n "$CALLS" "$addr"
			ghz_ok "$out/cpu-ghz-$round.out" "$CALLS"
		fi
	done
done
per_call() { # FILE: CPU µs per call
	awk -v n="$CALLS" '{printf "%.1f\n", ($2 + $3) / n * 1e6}' "$1"
}
printf '%-6s %-9s %9s %9s %9s %12s %10s\n' round client "wall s" "user s" "sys s" "CPU µs/call" "calls/s"
for round in $(seq "$CPU_ROUNDS"); do
	for who in jb ghz; do
		f=$out/cpu-$who-$round.time
		awk -v r="$round" -v w="$([ $who = jb ] && echo jitbench || echo ghz)" -v n="$CALLS" \
			'{printf "%-6s %-9s %9.2f %9.2f %9.2f %12.1f %10.0f\n", r, w, $1, $2, $3, ($2+$3)/n*1e6, n/$1}' "$f"
	done
done
jb_cpu=$(for r in $(seq "$CPU_ROUNDS"); do per_call "$out/cpu-jb-$r.time"; done | median)
ghz_cpu=$(for r in $(seq "$CPU_ROUNDS"); do per_call "$out/cpu-ghz-$r.time"; done | median)
cpu_ratio=$(awk -v a="$jb_cpu" -v b="$ghz_cpu" 'BEGIN {printf "%.2f", a / b}')
cpu_verdict=$(awk -v r="$cpu_ratio" 'BEGIN {print (r <= 0.5) ? "MET" : "MISSED"}')
echo "median CPU per call: jitbench ${jb_cpu} µs, ghz ${ghz_cpu} µs; ratio ${cpu_ratio} (target <= 0.5: $cpu_verdict)"

section "(b) a ${FREEZE_FOR}s freeze (SIGSTOP/SIGCONT of serve) during a $FREEZE_RUN, ${FREEZE_RATE}/s open-loop run"
# freeze NAME CMD...: runs CMD in the background, freezes serve from
# FREEZE_AT s to FREEZE_AT+FREEZE_FOR s into it, and waits for CMD.
freeze() {
	local name=$1
	shift
	printf '+ %s > %s &\n' "$(fmtcmd "$@")" "$out/$name.out"
	printf '+ sleep %s; kill -STOP %s; sleep %s; kill -CONT %s; wait\n' "$FREEZE_AT" "$serve_pid" "$FREEZE_FOR" "$serve_pid"
	local cmd=()
	mapfile -d '' cmd < <(expand "$@")
	"${cmd[@]}" >"$out/$name.out" 2>"$out/$name.err" &
	local pid=$!
	sleep "$FREEZE_AT"
	kill -STOP "$serve_pid"
	sleep "$FREEZE_FOR"
	kill -CONT "$serve_pid"
	# ghz may exit non-zero over errors it reports itself; the summary says which.
	wait "$pid" || echo "note: $1 exited $?: $(tail -1 "$out/$name.err")"
}
freeze freeze-jb "${jb_load[@]}" --rate "$FREEZE_RATE/s" --duration "$FREEZE_RUN" --deadline 20s -o "$out/freeze-jb.json"
freeze freeze-ghz "${ghz_load[@]}" --rps "$FREEZE_RATE" -z "$FREEZE_RUN" "$addr"
freeze freeze-ghz-c1000 "${ghz_load[@]}" --rps "$FREEZE_RATE" -z "$FREEZE_RUN" -c 1000 "$addr"

# The jitbench figures, read back through its own Prometheus renderer.
show "$jb" report render --format prom "$out/freeze-jb.json" ">" "$out/freeze-jb.prom"
"$jb" report render --format prom "$out/freeze-jb.json" >"$out/freeze-jb.prom"
jb_q() { awk -v q="$1" -F'[{} ]' '$1 == "jitbench_latency_seconds" && $2 == "quantile=\"" q "\"" {printf "%.1f ms", $4 * 1000}' "$out/freeze-jb.prom"; }
jb_calls=$(awk '$1 == "jitbench_latency_seconds_count" {print $2}' "$out/freeze-jb.prom")
# ghz's summary: "  99 % in 5.34 ms"; its slowest call: "  Slowest:	2.03 s".
ghz_q() { awk -v p="$1" '$1 == p && $2 == "%" {print $4, $5}' "$2"; }
ghz_max() { awk '$1 == "Slowest:" {print $2, $3}' "$1"; }
ghz_count() { awk '$1 == "Count:" {print $2}' "$1"; }
ghz_errors() { awk '/^Status code distribution/ {on=1; next} on && NF == 0 {on=0} on && !/\[OK\]/ {printf "%s%s %s", sep, $1, $2; sep="; "} END {if (sep == "") print "none"}' "$1"; }
printf '%-30s %7s %10s %10s %10s %10s  %s\n' client calls p50 p90 p99 max "non-OK"
printf '%-30s %7s %10s %10s %10s %10s  %s\n' "jitbench (open loop)" "$jb_calls" "$(jb_q 0.5)" "$(jb_q 0.9)" "$(jb_q 0.99)" "$(jb_q 1)" \
	"$(awk -F'[{}" ]' '$1 == "jitbench_calls_total" && $3 != "OK" {printf "%s%s %s", sep, $3, $NF; sep="; "} END {if (sep == "") print "none"}' "$out/freeze-jb.prom")"
for g in freeze-ghz freeze-ghz-c1000; do
	label="ghz --rps 500 (-c 50, default)"
	[ "$g" = freeze-ghz-c1000 ] && label="ghz --rps 500 -c 1000"
	printf '%-30s %7s %10s %10s %10s %10s  %s\n' "$label" "$(ghz_count "$out/$g.out")" "$(ghz_q 50 "$out/$g.out")" \
		"$(ghz_q 90 "$out/$g.out")" "$(ghz_q 99 "$out/$g.out")" "$(ghz_max "$out/$g.out")" "$(ghz_errors "$out/$g.out")"
done
jb_p99_s=$(awk -F'[{} ]' '$1 == "jitbench_latency_seconds" && $2 == "quantile=\"0.99\"" {print $4}' "$out/freeze-jb.prom")
freeze_verdict=$(awk -v p="$jb_p99_s" 'BEGIN {print (p >= 1.5) ? "MET" : "MISSED"}')
echo "jitbench p99 during the freeze: ${jb_p99_s} s (target >= 1.5 s: $freeze_verdict)"

section "(c) peak RSS after $RSS_SMALL calls vs after many more, same settings, in-process target"
# The in-process target (the reference broker and Vault inside jitbench, no
# network) is about twice as fast as loopback here, so 5 M calls fit the
# budget; its RSS counts the server too, which only makes the bound stricter.
rss_load=("$jb" load --target inprocess --grant renew --concurrency "$CONCURRENCY" --connections "$CONNECTIONS" -q)
timed rss-small "${rss_load[@]}" --calls "$RSS_SMALL"
jb_ok "$out/rss-small.out" "$RSS_SMALL"
# The large count must finish within the budget at the small run's throughput.
rate=$(awk -v n="$RSS_SMALL" '{printf "%d", n / $1}' "$out/rss-small.time")
fits=$(awk -v r="$rate" -v b="$RSS_BUDGET_S" 'BEGIN {printf "%d", int(r * b / 100000) * 100000}')
large=$RSS_LARGE
if [ "$fits" -lt "$large" ]; then
	large=$fits
	echo "note: $RSS_LARGE calls would take about $((RSS_LARGE / rate)) s at the ${rate} calls/s of the small run; using $large calls, the largest multiple of 100 k that fits in ${RSS_BUDGET_S} s"
fi
timed rss-large "${rss_load[@]}" --calls "$large"
jb_ok "$out/rss-large.out" "$large"
small_kib=$(awk '{print $4}' "$out/rss-small.time")
large_kib=$(awk '{print $4}' "$out/rss-large.time")
rss_ratio=$(awk -v a="$large_kib" -v b="$small_kib" 'BEGIN {printf "%.2f", a / b}')
rss_verdict=$(awk -v r="$rss_ratio" 'BEGIN {print (r <= 1.2) ? "MET" : "MISSED"}')
printf '%-10s %10s %12s %12s\n' calls "wall s" "peak RSS" "calls/s"
for f in rss-small rss-large; do
	n=$RSS_SMALL
	[ $f = rss-large ] && n=$large
	awk -v n="$n" '{printf "%-10s %10.1f %8.1f MiB %12.0f\n", n, $1, $4 / 1024, n / $1}' "$out/$f.time"
done
echo "peak RSS ratio ${large} / ${RSS_SMALL} calls: ${rss_ratio} (target <= 1.2: $rss_verdict)"

section "summary"
echo "(a) CPU per call: jitbench ${jb_cpu} µs vs ghz ${ghz_cpu} µs = ${cpu_ratio}x (target <= 0.5x): $cpu_verdict"
echo "(b) p99 through a ${FREEZE_FOR}s freeze at ${FREEZE_RATE}/s: jitbench ${jb_p99_s} s (target >= 1.5 s): $freeze_verdict; ghz (-c 50) $(ghz_q 99 "$out/freeze-ghz.out"), ghz -c 1000 $(ghz_q 99 "$out/freeze-ghz-c1000.out")"
echo "(c) peak RSS ${large} vs ${RSS_SMALL} calls: $((large_kib / 1024)) MiB vs $((small_kib / 1024)) MiB = ${rss_ratio}x (target <= 1.2x): $rss_verdict"
echo "raw output: $out"
