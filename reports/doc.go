// Package reports holds the result of a jitbench load run and renders it.
//
// A load generator records every finished call into a Recorder, which is
// safe for concurrent use and keeps HDR histograms, never samples, so its
// memory does not depend on the number of calls. Finish turns it into a
// Result: calls by gRPC code and by (code, reason), the most frequent status
// messages of each failed (code, reason), latency histograms overall, per
// code, per reason and per phase, and a per-second timeline.
//
// In open loop, latency is measured from the time the pacer intended to
// send a call, not from when it was sent: a server that stalls for two
// seconds then shows two seconds in the tail, where tools that measure from
// the actual send report milliseconds (coordinated omission).
//
// # The JSON result, schema "jitbench.result/v1"
//
// Write and Read use one versioned JSON document (testdata/fixture.json is
// a complete example):
//
//	{
//	  "schema": "jitbench.result/v1",
//	  "run": {"name": "read-under-freeze", "target": "127.0.0.1:7443",
//	          "method": "/demo.v1.Vault/Read", "start": "2026-01-01T00:00:00Z",
//	          "end": "2026-01-01T00:00:09.991788Z", "duration": "9.991788s",
//	          "warm_up": "2s", "warm_up_calls": 200, "mode": "open", "rate": 100,
//	          "connections": 4, "seed": 42, "jitbench_version": "v0.1.0",
//	          "workers": ["w1"]},
//	  "calls": 1000,
//	  "codes": {"OK": 951, "PERMISSION_DENIED": 37, "UNAVAILABLE": 2, ...},
//	  "reasons": [{"code": "PERMISSION_DENIED", "reason": "GRANT_EXPIRED", "calls": 26}, ...],
//	  "messages": [{"code": "PERMISSION_DENIED", "reason": "GRANT_EXPIRED",
//	                "top": [{"message": "the token expired 2s ago (leeway 30s)", "calls": 9}, ...],
//	                "other": 0}, ...],
//	  "latency": {"count": 1000, "min_us": 272, "mean_us": 203511.3, "p50_us": 1734,
//	              "p90_us": 1001471, "p99_us": 1901567, "p99_9_us": 1991679,
//	              "p99_99_us": 2000895, "max_us": 2000895, "hdr": "HISTFAAAA..."},
//	  "latency_by_code": {"OK": {...}, ...},
//	  "latency_by_reason": {"GRANT_EXPIRED": {...}, ...},
//	  "phases": {"grant": {...}},
//	  "timeline": [{"unix": 1767225600, "t": 0, "covered_us": 1000000, "sent": 100, "completed": 100,
//	                "codes": {"OK": 92, ...}, "p50_us": 1599, "p90_us": 2127,
//	                "p99_us": 200703, "max_us": 200703, "hdr": "HISTFAAAA..."}, ...],
//	  "expectations": [{"name": "p99", "want": "< 100ms", "got": "1.902s", "pass": false}]
//	}
//
// Each "hdr" is an HdrHistogram in its V2 compressed encoding, base64, in
// microseconds from 1 µs to 60 s: 3 significant digits for the run's
// histograms, 2 for the timeline's (1 % is plenty for a plot, and a second
// then costs a few hundred bytes). The encoding is the data; the figures
// beside it are derived for people and jq, and Read ignores them. Because
// every histogram of a kind has one geometry, Merge adds them bucket by
// bucket and the merge of a split run equals the whole run exactly.
//
// Timeline entries are clock seconds (Unix time), which is what lets the
// timelines of several workers line up. The window's first and last
// seconds are usually partial, and "covered_us" says how much of each the
// window (run.start to run.end) covers; per-second rates divide by it, so
// a 3 s run spanning four clock seconds reports 3 s of calls, not a ramp.
//
// "messages" keeps, per failed (code, reason), the TopMessages (5) most
// frequent status messages, each with its exact count, and "other" for the
// rest, so that a status with no reason still says why ("path is
// required"); "" is a status without a message. Messages are cleaned
// before they are counted (CleanMessage): anything that looks like a JWT
// and any Bearer value becomes "[redacted]", and a message is cut at
// MaxMessageRunes (200) runes. Memory stays flat: a recorder counts at most
// 16 distinct messages per (code, reason) and shard, and calls with further
// messages count in "other". Merge adds the counts of equal messages and
// keeps a message only when its sum is complete (see Merge). Results
// written before messages were kept have no "messages" and read as before.
//
// Read refuses, with a message that says why, a file that is empty,
// truncated, not JSON, not a jitbench result, of another schema version, or
// whose counts disagree with its histograms (or its messages with its
// reasons, or whose messages are not cleaned). New optional fields keep the
// schema at v1 (readers ignore fields they do not know); a change that an
// older reader would misread gets v2.
//
// # Rendering
//
// Render writes a Result as a terminal table (text), GitHub Markdown for a
// CI step summary (md), JUnit XML with one test case per expectation
// (junit), one self-contained HTML page with three SVG plots (html),
// Prometheus text exposition (prom) or the JSON itself (json). Diff and
// ParseGates compare two results for `jitbench report diff --fail-on`.
package reports
