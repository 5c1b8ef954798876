#!/usr/bin/env bash
# Runs one fuzz target for FUZZTIME: scripts/fuzz.sh TARGET PACKAGE [go test flags].
#
# Go 1.26's fuzz coordinator can end a time-boxed run with a bare "context
# deadline exceeded" when a worker is still mid-input as -fuzztime expires
# on a loaded machine (go.dev/issue/75804, fixed in Go 1.27). Such a run
# found nothing: a real finding always writes a reproducer ("Failing input
# written to testdata/fuzz/...") or prints a panic. So a failure with that
# message and neither of those is run again, at most twice; any other
# failure fails at once.
set -uo pipefail

target=$1 pkg=$2
shift 2
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for attempt in 1 2 3; do
	"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$@" "$pkg" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] && exit 0
	if grep -q 'context deadline exceeded' "$log" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
		echo "fuzz.sh: $target ended on the fuzz coordinator's deadline race (go.dev/issue/75804), no input failed; running it again ($attempt of 3)" >&2
		continue
	fi
	exit "$rc"
done
echo "fuzz.sh: $target hit the deadline race three times without a failing input" >&2
exit 1
